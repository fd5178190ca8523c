// Package primaryremote tests the primary-remote topology on two kwok clusters in one private network namespace
// (the remote one with its own Service range, 10.1.0.0/16): Sail installs Istio in the primary and the real istiod
// runs there, reading the remote cluster through a remote secret; Sail installs the remote profile in the remote
// cluster, whose pods the primary's istiod injects. The samples of config/samples/multicluster/primaryremote are
// what is applied.
package primaryremote

import (
	"os"
	"testing"

	"github.com/sail-mesh/sail/test/framework"
)

// primary runs Sail and the real istiod; remote runs Sail with the remote profile and no istiod.
var primary, remote *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.RunMainClusters(m,
		framework.ClusterSpec{Options: framework.ClusterOptions{Name: "sail-pr-primary", Nodes: 1}, Into: &primary},
		framework.ClusterSpec{Options: framework.ClusterOptions{Name: "sail-pr-remote", Nodes: 1,
			ServiceCIDR: "10.1.0.0/16"}, Into: &remote}))
}
