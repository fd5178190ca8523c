package operator

import (
	"fmt"
	"strings"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Build information, stamped with -ldflags "-X github.com/sail-mesh/sail/internal/operator.Version=...".
var (
	// Version is the release of Sail.
	Version = "dev"
	// Commit is the git commit Sail was built from.
	Commit = "unknown"
)

// VersionString describes the build and the Istio versions it supports.
func VersionString() string {
	l := versions.Default()
	var vs []string
	for _, v := range l.Versions {
		vs = append(vs, v.Name)
	}
	var as []string
	for _, a := range l.Aliases {
		as = append(as, a.Name+"="+a.Version)
	}
	return fmt.Sprintf("sail-operator %s (commit %s)\nIstio versions: %s\nAliases: %s\n",
		Version, Commit, strings.Join(vs, ", "), strings.Join(as, ", "))
}
