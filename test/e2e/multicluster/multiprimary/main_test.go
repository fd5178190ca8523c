// Package multiprimary tests the multi-primary topology with the real istiod in both clusters: two kwok clusters
// (east, and west with its own Service range 10.1.0.0/16) in one private network namespace, each running Sail and
// an Istio of the same mesh with the cacerts Secret of one shared root (sailctl ca create), each istiod reading the
// other cluster through a remote secret (sailctl create-remote-secret). The Istios are applied from the samples in
// config/samples/multicluster/multiprimary, first on one network, then on two.
package multiprimary

import (
	"os"
	"testing"

	"github.com/sail-mesh/sail/test/framework"
)

// east and west are the two primary clusters.
var east, west *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.RunMainClusters(m,
		framework.ClusterSpec{Options: framework.ClusterOptions{Name: "sail-mp-east", Nodes: 1}, Into: &east},
		framework.ClusterSpec{Options: framework.ClusterOptions{Name: "sail-mp-west", Nodes: 1,
			ServiceCIDR: "10.1.0.0/16"}, Into: &west}))
}
