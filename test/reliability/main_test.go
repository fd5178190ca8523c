// Package reliability holds the tests of Sail's reliability promises (docs/reliability.md): the operator writes
// nothing when nothing changed, a SIGKILL at any point leaves the cluster as the status inventories say and never
// takes a serving control plane down, and a restart of the API server and etcd needs no restart of the operator.
// It runs its own kwok cluster (sail-reliability) with the API server's audit log on, from which the operator's
// write requests are counted (with the bodies of writes, so a write that changed nothing can be told apart), and the operator built from this repository as a separate process.
package reliability

import (
	"os"
	"testing"

	"github.com/sail-mesh/sail/test/framework"
)

var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.RunMain(m, "sail-reliability", 3, framework.WriteAuditPolicy(), &cluster))
}
