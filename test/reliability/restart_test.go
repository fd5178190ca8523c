package reliability

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// TestControlPlaneRestart_OperatorConverges upgrades an InPlace Istio and restarts the API server and etcd right
// after the operator's first write of the upgrade, mid-reconcile: the same operator process (never restarted)
// must finish the upgrade, leave the live objects as the inventories say, and then settle to zero writes (once the
// event sink's retries of the outage are over).
func TestControlPlaneRestart_OperatorConverges(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	op, err := cluster.StartOperator(t.TempDir(), "operator")
	g.Expect(err).NotTo(HaveOccurred())
	defer op.Stop()
	defer op.DumpLogOnFailure(t)
	createNamespace(t, "restart-system", nil)
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "restart"}, Spec: sailv1.IstioSpec{Version: "v1.30.0", Namespace: "restart-system"}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	defer deleteIstio(t, "restart")
	g.Eventually(func(g Gomega) { istioReady(g, "restart", "restart") }, waitFor, 250*time.Millisecond).Should(Succeed())
	tail := newTail(t)
	_ = settle(t, tail)

	g.Expect(c.Get(ctx, client.ObjectKey{Name: "restart"}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version = "v1.31.0"
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	start := time.Now()
	g.Eventually(func() int { ws, _ := tail.Next(); return len(ws) }, waitFor, 5*time.Millisecond).Should(BeNumerically(">", 0),
		"the operator starts the upgrade")
	g.Expect(cluster.Local.RestartControlPlane(ctx)).To(Succeed())
	down := time.Since(start)

	g.Eventually(func(g Gomega) {
		got := istioReady(g, "restart", "restart")
		g.Expect(got.Status.Version).To(Equal("v1.31.0"))
		g.Expect(istiods(g, "restart-system")).To(HaveLen(1), "one istiod, no duplicate")
		g.Expect(cluster.CheckInventory(ctx)).To(Succeed())
	}, waitFor, time.Second).Should(Succeed())
	converged := time.Since(start)
	recovery := settleFor(t, tail, afterOutageQuietFor)
	g.Expect(op.Running()).To(BeTrue(), "the operator never exited")
	time.Sleep(10 * time.Second)
	after, err := tail.Next()
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("FIGURE control-plane restart: API server and etcd back after %s, upgrade converged after %s; %d operator writes until settled (%s), %d in the 10 s after",
		down.Round(time.Millisecond), converged.Round(time.Millisecond), len(recovery), byKind(recovery), len(after))
	g.Expect(after).To(BeEmpty(), "a settled operator writes nothing; it wrote: %s", describe(after))
}
