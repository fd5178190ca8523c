// Package e2e tests Sail as users run it: the operator binary as a separate process against a local kwok cluster
// whose controller-manager and kwok really roll out Deployments.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sail-mesh/sail/test/framework"
)

var cluster *framework.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	var err error
	start := time.Now()
	cluster, err = framework.StartCluster(ctx, "sail-e2e", 3, "")
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot start the local cluster (run `make tools` first): %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "e2e: local cluster ready in %s\n", time.Since(start).Round(time.Millisecond))
	code := m.Run()
	if err := cluster.Local.Stop(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: stopping the cluster: %v\n", err)
	}
	os.Exit(code)
}
