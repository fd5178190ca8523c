// Package resources embeds the list of supported Istio versions and the Istio charts and profiles extracted for
// them by `make resources`.
package resources

import "embed"

// FS holds versions.yaml and charts/<version>/{base,istiod,cni,ztunnel,profiles}.
//
//go:embed versions.yaml all:charts
var FS embed.FS
