// Package realistiod tests what Sail installs against the real Istio control plane: istiod (pilot-discovery) and
// istioctl built from the same istio.io/istio module as the charts (`make istio-tools`), run against a kwok
// cluster as the istiod pods would run. It has a cluster of its own, since a real istiod writes into every
// namespace; its tests run one after another.
package realistiod

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
	cluster, err = framework.StartCluster(ctx, "sail-istiod", 3, framework.AuditPolicy())
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "realistiod: cannot start the local cluster (run `make tools` first): %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "realistiod: local cluster ready in %s\n", time.Since(start).Round(time.Millisecond))
	code := m.Run()
	if err := cluster.Local.Stop(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "realistiod: stopping the cluster: %v\n", err)
	}
	os.Exit(code)
}
