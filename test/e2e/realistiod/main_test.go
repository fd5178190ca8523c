// Package realistiod tests what Sail installs against the real Istio control plane: istiod (pilot-discovery) and
// istioctl built from the same istio.io/istio module as the charts (`make istio-tools`), run against a kwok
// cluster as the istiod pods would run. It has a cluster of its own, since a real istiod writes into every
// namespace; its tests run one after another.
package realistiod

import (
	"os"
	"testing"

	"github.com/sail-mesh/sail/test/framework"
)

var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.RunMain(m, "sail-istiod", 3, framework.AuditPolicy(), &cluster))
}
