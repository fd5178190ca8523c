package ztunnel

import (
	"fmt"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// MinimumVersion is the oldest Istio minor version whose ztunnel chart Sail installs.
const MinimumVersion = "v1.24.0"

// checkVersion refuses versions older than MinimumVersion.
func checkVersion(v versions.Version) error {
	d, err := versions.MinorDistance(MinimumVersion, v.Name)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("ztunnel needs Istio %s or newer; %s is too old", MinimumVersion, v.Name)
	}
	return nil
}
