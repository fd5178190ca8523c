// Package e2e tests Sail as users run it: the operator binary as a separate process against a local kwok cluster
// whose controller-manager and kwok really roll out Deployments.
package e2e

import (
	"os"
	"testing"

	"github.com/sail-mesh/sail/test/framework"
)

var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.RunMain(m, "sail-e2e", 3, "", &cluster))
}
