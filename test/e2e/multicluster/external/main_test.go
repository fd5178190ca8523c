// Package external tests the external control plane topology against real API servers: the istiod of cluster B's
// mesh runs in cluster A (sail-ext-host), declared with Sail there, and reads its configuration from cluster B
// (sail-ext-config, the config cluster, with its own Service range 10.1.0.0/16), where Sail installs the remote
// profile as config cluster. The real istiod of Istio v1.31.0 runs from the Deployment Sail installed in A.
package external

import (
	"os"
	"testing"

	"github.com/sail-mesh/sail/test/framework"
)

// host runs the external istiod; config is the config cluster whose mesh it serves.
var host, config *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.RunMainClusters(m,
		framework.ClusterSpec{Options: framework.ClusterOptions{Name: "sail-ext-host", Nodes: 1}, Into: &host},
		framework.ClusterSpec{Options: framework.ClusterOptions{Name: "sail-ext-config", Nodes: 1,
			ServiceCIDR: "10.1.0.0/16"}, Into: &config}))
}
