// Package crds embeds copies of the CRDs of the Sail kinds that sailctl migrate generates (Istio, and IstioCNI once
// it exists), taken from config/crd/bases, so that the generated resources can be validated offline. Run
// `go generate ./internal/migrate/...` after `make gen` to refresh them; a test fails while they are stale.
package crds

import "embed"

//go:generate go run copy.go

// FS holds the CRD files, named as in config/crd/bases.
//
//go:embed *.yaml
var FS embed.FS

// Files are the CRD files of config/crd/bases that are copied here.
var Files = []string{"sailoperator.io_istios.yaml", "sailoperator.io_istiocnis.yaml"}
