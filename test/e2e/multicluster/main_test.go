// Package multicluster tests Sail's tools for a mesh across clusters against real API servers: sailctl
// create-remote-secret against a kwok cluster whose kube-controller-manager fills in ServiceAccount tokens, and the
// real istiod of a primary cluster reading that remote cluster through the secret. The remote cluster has its own
// Service range (10.1.0.0/16), so that both clusters share the private network namespace as on a flat network.
package multicluster

import (
	"os"
	"testing"

	"github.com/sail-mesh/sail/test/framework"
)

// remote is the cluster read through remote secrets; primary runs Sail and the real istiod that reads it.
var remote, primary *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.RunMainClusters(m,
		framework.ClusterSpec{Options: framework.ClusterOptions{Name: "sail-mc-primary", Nodes: 2}, Into: &primary},
		framework.ClusterSpec{Options: framework.ClusterOptions{Name: "sail-mc-remote", Nodes: 1,
			ServiceCIDR: "10.1.0.0/16"}, Into: &remote}))
}
