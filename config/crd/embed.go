// Package crd embeds Sail's generated CRDs (bases/*.yaml, written by `make gen`) for tools that validate Sail
// resources offline, such as sailctl migrate --validate.
package crd

import "embed"

// FS holds bases/*.yaml.
//
//go:embed bases/*.yaml
var FS embed.FS
