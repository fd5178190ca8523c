package e2e

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/test/framework"
)

// inventoryObjects returns the revision's inventory as "Kind namespace/name", sorted.
func inventoryObjects(g Gomega, ctx context.Context, c client.Client, name string) []string {
	rev := &sailv1.IstioRevision{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, rev)).To(Succeed())
	var out []string
	for _, e := range rev.Status.Inventory {
		u, err := apply.EntryObject(e)
		g.Expect(err).NotTo(HaveOccurred())
		out = append(out, u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName())
	}
	sort.Strings(out)
	return out
}

func sorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

// TestOperator_CrashSafety kills the operator (SIGKILL) at several points of an install and of a canary upgrade,
// restarts it each time, and checks the cluster converges with no duplicate, leaked or missing object.
func TestOperator_CrashSafety(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	logDir := t.TempDir()
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "crash-system"}}))).To(Succeed())

	var op *framework.Operator
	restart := func(after time.Duration) {
		if op != nil {
			time.Sleep(after)
			op.Kill()
		}
		var err error
		op, err = cluster.StartOperator(logDir, "operator")
		g.Expect(err).NotTo(HaveOccurred())
	}
	restart(0)
	defer func() { op.Stop() }()
	defer func() { op.DumpLogOnFailure(t) }()

	grace := int64(2)
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "crash"}, Spec: sailv1.IstioSpec{
		Version: "v1.30.0", Namespace: "crash-system",
		UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased, InactiveRevisionDeletionGracePeriodSeconds: &grace},
	}}
	time.Sleep(time.Second) // let the first operator start its workers
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	for _, after := range []time.Duration{30 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond} {
		restart(after)
	}
	g.Eventually(readyStatus(ctx, c, "crash"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))

	converged := func(active string) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			inv := inventoryObjects(g, ctx, c, active)
			g.Expect(inv).NotTo(BeEmpty())
			g.Expect(sorted(managedObjects(ctx, c, active))).To(Equal(inv), "what exists is exactly what the inventory lists")
			deployments := &appsv1.DeploymentList{}
			g.Expect(c.List(ctx, deployments, client.InNamespace("crash-system"))).To(Succeed())
			g.Expect(deployments.Items).To(HaveLen(1), "one istiod, no duplicate")
			g.Expect(deployments.Items[0].Name).To(Equal("istiod-" + active))
		}, waitFor, time.Second).Should(Succeed())
	}
	converged("crash-v1-30-0")

	g.Expect(c.Get(ctx, client.ObjectKey{Name: "crash"}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version = "v1.31.0"
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	for _, after := range []time.Duration{30 * time.Millisecond, 200 * time.Millisecond, 600 * time.Millisecond} {
		restart(after)
	}
	g.Eventually(func() string {
		_ = c.Get(ctx, client.ObjectKey{Name: "crash"}, istio)
		return istio.Status.ActiveRevisionName
	}, waitFor).Should(Equal("crash-v1-31-0"))
	g.Eventually(readyStatus(ctx, c, "crash"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	g.Eventually(revisionExists(ctx, c, "crash-v1-30-0"), waitFor).Should(BeFalse(), "the unused old revision is pruned")
	g.Eventually(func() []string { return managedObjects(ctx, c, "crash-v1-30-0") }, waitFor).Should(BeEmpty(), "nothing of it leaks")
	converged("crash-v1-31-0")

	g.Expect(c.Delete(ctx, istio)).To(Succeed())
	restart(50 * time.Millisecond)
	g.Eventually(func() []string { return managedObjects(ctx, c, "crash-v1-31-0") }, waitFor).Should(BeEmpty())
	g.Eventually(revisionExists(ctx, c, "crash-v1-31-0"), waitFor).Should(BeFalse())
	data, err := os.ReadFile(op.LogPath)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Contains(string(data), "panic")).To(BeFalse(), "the operator never panicked")
}
