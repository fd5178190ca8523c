// Package multicluster tests Sail's tools for a mesh across clusters against real API servers: sailctl
// create-remote-secret against a kwok cluster whose kube-controller-manager fills in ServiceAccount tokens, and the
// real istiod of a primary cluster reading that remote cluster through the secret. The remote cluster has its own
// Service range (10.1.0.0/16), so that both clusters share the private network namespace as on a flat network.
package multicluster

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sail-mesh/sail/test/framework"
)

// remote is the cluster read through remote secrets; primary runs Sail and the real istiod that reads it.
var remote, primary *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run starts the two clusters, runs the tests and stops them.
func run(m *testing.M) int {
	var err error
	if primary, err = startCluster(framework.ClusterOptions{Name: "sail-mc-primary", Nodes: 2}); err != nil {
		return 1
	}
	defer stopCluster(primary)
	if remote, err = startCluster(framework.ClusterOptions{Name: "sail-mc-remote", Nodes: 1,
		ServiceCIDR: "10.1.0.0/16"}); err != nil {
		return 1
	}
	defer stopCluster(remote)
	return m.Run()
}

// startCluster starts a cluster and reports how long it took, or why it failed.
func startCluster(opts framework.ClusterOptions) (*framework.Cluster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := framework.StartClusterWith(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot start the local cluster (run `make tools` first): %v\n", opts.Name, err)
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "%s: local cluster ready in %s\n", opts.Name, time.Since(start).Round(time.Millisecond))
	return c, nil
}

// stopCluster stops a cluster.
func stopCluster(c *framework.Cluster) {
	if err := c.Local.Stop(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "%s: stopping the cluster: %v\n", c.Local.Name(), err)
	}
}
