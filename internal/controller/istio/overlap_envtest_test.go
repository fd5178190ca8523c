package istio_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// isolatedIstio returns an Istio installing into namespace whose istiod discovers the namespaces that any of the
// selectors' labels select (nil: no discoverySelectors, every namespace).
func isolatedIstio(name, namespace string, selectors ...map[string]string) *sailv1.Istio {
	istio := newIstio(name, namespace, nil)
	if selectors != nil {
		mc := &sailv1.MeshConfig{}
		for _, l := range selectors {
			mc.DiscoverySelectors = append(mc.DiscoverySelectors, sailv1.LabelSelector{MatchLabels: l})
		}
		istio.Spec.Values.MeshConfig = mc
	}
	return istio
}

func labelNamespace(t *testing.T, c client.Client, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{}
	NewWithT(t).Expect(c.Get(context.Background(), client.ObjectKey{Name: name}, ns)).To(Succeed())
	patch := client.MergeFrom(ns.DeepCopy())
	ns.Labels = labels
	NewWithT(t).Expect(c.Patch(context.Background(), ns, patch)).To(Succeed())
}

// overlapMessage returns the Istio's DiscoveryOverlap condition as status/reason: message, "" when absent.
func overlapMessage(c client.Client, name string) func() string {
	return func() string {
		istio := &sailv1.Istio{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, istio); err != nil {
			return err.Error()
		}
		if cond := testenv.Condition(istio, sailv1.ConditionDiscoveryOverlap); cond != nil {
			return string(cond.Status) + "/" + cond.Reason + ": " + cond.Message
		}
		return ""
	}
}

// TestIstio_DiscoveryOverlap: two Istios that ask for isolation with discoverySelectors, whose selectors select
// the same existing namespace: the newer one reports DiscoveryOverlap (and an event) naming the older and the
// namespace, keeps installing, and the condition goes with the overlap. Namespace label changes re-evaluate it.
func TestIstio_DiscoveryOverlap(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	for _, ns := range []string{"tenant-a-system", "tenant-b-system", "tenant-c-system", "shop-a", "shop-b"} {
		env.CreateNamespace(t, ns)
	}
	labelNamespace(t, c, "shop-a", map[string]string{"tenant": "a"})
	labelNamespace(t, c, "shop-b", map[string]string{"tenant": "b"})
	g.Expect(c.Create(ctx, isolatedIstio("tenant-a", "tenant-a-system", map[string]string{"tenant": "a"}))).To(Succeed())
	time.Sleep(1100 * time.Millisecond) // creation timestamps have one-second resolution: make tenant-b newer
	g.Expect(c.Create(ctx, isolatedIstio("tenant-b", "tenant-b-system", map[string]string{"tenant": "b"},
		map[string]string{"shared": "yes"}))).To(Succeed())
	g.Eventually(condition(c, "tenant-b", sailv1.ConditionReconciled), timeout).Should(Equal(metav1.ConditionTrue))
	g.Eventually(condition(c, "tenant-a", sailv1.ConditionReconciled), timeout).Should(Equal(metav1.ConditionTrue))

	t.Run("disjoint selectors report nothing", func(t *testing.T) {
		g := NewWithT(t)
		g.Consistently(overlapMessage(c, "tenant-b"), 2*time.Second).Should(BeEmpty())
		g.Expect(overlapMessage(c, "tenant-a")()).To(BeEmpty())
	})

	t.Run("a namespace both select makes the newer Istio report the overlap", func(t *testing.T) {
		g := NewWithT(t)
		labelNamespace(t, c, "shop-a", map[string]string{"tenant": "a", "shared": "yes"})
		g.Eventually(overlapMessage(c, "tenant-b"), timeout).Should(And(
			HavePrefix("True/"+sailv1.ReasonNamespacesShared+": Istio tenant-a is older"),
			ContainSubstring("namespace shop-a.")))
		g.Expect(overlapMessage(c, "tenant-a")()).To(BeEmpty(), "the older Istio is not told")
		g.Expect(condition(c, "tenant-b", sailv1.ConditionReconciled)()).To(Equal(metav1.ConditionTrue), "a warning, not a failure")
		g.Eventually(func() []string {
			var list eventsv1.EventList
			if err := c.List(ctx, &list); err != nil {
				return nil
			}
			var reasons []string
			for _, e := range list.Items {
				if e.Regarding.Kind == sailv1.IstioKind && e.Regarding.Name == "tenant-b" {
					reasons = append(reasons, e.Type+"/"+e.Reason)
				}
			}
			return reasons
		}, timeout).Should(ContainElement(corev1.EventTypeWarning + "/" + sailv1.ReasonNamespacesShared))
	})

	t.Run("the condition goes with the overlap", func(t *testing.T) {
		g := NewWithT(t)
		labelNamespace(t, c, "shop-a", map[string]string{"tenant": "a"})
		g.Eventually(overlapMessage(c, "tenant-b"), timeout).Should(BeEmpty())
	})

	t.Run("an Istio without discoverySelectors next to isolated ones reports what it shares", func(t *testing.T) {
		g := NewWithT(t)
		time.Sleep(1100 * time.Millisecond)
		g.Expect(c.Create(ctx, isolatedIstio("tenant-c", "tenant-c-system"))).To(Succeed())
		g.Eventually(overlapMessage(c, "tenant-c"), timeout).Should(And(
			ContainSubstring("Istio tenant-a is older and its discoverySelectors also select namespace shop-a"),
			ContainSubstring("Istio tenant-b is older and its discoverySelectors also select namespace shop-b"),
			ContainSubstring("set spec.values.meshConfig.discoverySelectors")))
		g.Expect(c.Delete(ctx, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "tenant-c"}})).To(Succeed())
	})

	t.Run("an older Istio without discoverySelectors is reported to the isolated one", func(t *testing.T) {
		g := NewWithT(t)
		istio := &sailv1.Istio{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "tenant-a"}, istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Spec.Values.MeshConfig = nil
		g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
		g.Eventually(overlapMessage(c, "tenant-b"), timeout).Should(
			ContainSubstring("Istio tenant-a is older and it sets no discoverySelectors, so its istiod discovers every namespace, including namespace shop-b"))
	})
}
