// Package multicluster tests Sail's tools for a mesh across clusters against real API servers: sailctl
// create-remote-secret against a kwok cluster whose kube-controller-manager fills in ServiceAccount tokens. The
// cluster has its own Service range (10.1.0.0/16), so that it can share the private network namespace with the
// other local clusters as on a flat network.
package multicluster

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sail-mesh/sail/test/framework"
)

// remote is the cluster read through remote secrets.
var remote *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run starts the remote cluster, runs the tests and stops it.
func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	start := time.Now()
	c, err := framework.StartClusterWith(ctx, framework.ClusterOptions{Name: "sail-mc-remote", Nodes: 1,
		ServiceCIDR: "10.1.0.0/16"})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot start the local cluster (run `make tools` first): %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "sail-mc-remote: local cluster ready in %s\n", time.Since(start).Round(time.Millisecond))
	remote = c
	code := m.Run()
	if err := c.Local.Stop(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "stopping the cluster: %v\n", err)
	}
	return code
}
