package istio_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// kstatus returns a function for Eventually that reads obj again and sums up its kstatus conditions as
// "Stalled=<status>/<reason> Reconciling=<status>", where an absent condition reads False (kstatus' rule).
func kstatus(c client.Client, obj client.Object) func() string {
	return func() string {
		stalled := testenv.ConditionOf(c, obj, status.ConditionStalled)()
		if stalled == "unset" {
			stalled = "False"
		}
		reconciling := string(testenv.ConditionStatusOf(c, obj, status.ConditionReconciling)())
		if reconciling == "unset" {
			reconciling = "False"
		}
		return "Stalled=" + stalled + " Reconciling=" + reconciling
	}
}

const settled = "Stalled=False Reconciling=False"

// TestTerminalErrorsStallAndRecover checks that for every kind an error that no retry can fix (an ownership
// conflict, a missing namespace, a missing target) is reported as Stalled=True with its reason and without
// Reconciling, and that each resource recovers by itself, without a change of its own, once the blocker goes.
func TestTerminalErrorsStallAndRecover(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")
	env.CreateNamespace(t, "ztunnel")

	foreign := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "mesh"}, Spec: sailv1.IstioRevisionSpec{
		Version: "v1.31.0", Namespace: "foreign-cp", Values: &sailv1.Values{Revision: "mesh"}}}
	g.Expect(c.Create(ctx, foreign)).To(Succeed())
	tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Spec: sailv1.IstioRevisionTagSpec{
		TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: "mesh"}}}
	g.Expect(c.Create(ctx, tag)).To(Succeed())
	zt := &sailv1.ZTunnel{ObjectMeta: metav1.ObjectMeta{Name: sailv1.ZTunnelName}, Spec: sailv1.ZTunnelSpec{
		TargetRef: &sailv1.ZTunnelTargetRef{Kind: sailv1.IstioKind, Name: "mesh"}}}
	g.Expect(c.Create(ctx, zt)).To(Succeed())
	cni := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: sailv1.IstioCNIName}}
	g.Expect(c.Create(ctx, cni)).To(Succeed())

	t.Run("a missing namespace or target stalls", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(kstatus(c, foreign), timeout).Should(Equal("Stalled=True/" + sailv1.ReasonNamespaceNotFound + " Reconciling=False"))
		g.Eventually(kstatus(c, cni), timeout).Should(Equal("Stalled=True/" + sailv1.ReasonNamespaceNotFound + " Reconciling=False"))
		g.Eventually(kstatus(c, tag), timeout).Should(Equal("Stalled=True/" + sailv1.ReasonRefNotFound + " Reconciling=False"))
		g.Eventually(kstatus(c, zt), timeout).Should(Equal("Stalled=True/" + sailv1.ReasonTargetNotFound + " Reconciling=False"))
	})

	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "mesh"}, Spec: sailv1.IstioSpec{Namespace: "istio-system"}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	t.Run("a revision that belongs to nobody stalls the Istio that needs its name", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(kstatus(c, istio), timeout).Should(Equal("Stalled=True/" + sailv1.ReasonOwnershipConflict + " Reconciling=False"))
		g.Expect(testenv.Condition(istio, sailv1.ConditionReconciled).Message).To(ContainSubstring("delete it or rename the Istio"))
		// The targets now exist but have no active revision: that is progress to wait for, not a stall.
		g.Eventually(kstatus(c, tag), timeout).Should(Equal("Stalled=False Reconciling=True"))
		g.Eventually(kstatus(c, zt), timeout).Should(Equal("Stalled=False Reconciling=True"))
	})

	t.Run("creating the namespace lifts the stall", func(t *testing.T) {
		g := NewWithT(t)
		env.CreateNamespace(t, "foreign-cp")
		env.CreateNamespace(t, "istio-cni")
		g.Eventually(testenv.ConditionOf(c, foreign, sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		g.Expect(testenv.MarkDeploymentAvailable(ctx, c, client.ObjectKey{Namespace: "foreign-cp", Name: "istiod-mesh"})).To(Succeed())
		g.Eventually(kstatus(c, foreign), timeout).Should(Equal(settled))
		g.Eventually(testenv.ConditionOf(c, cni, sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		g.Expect(testenv.MarkDaemonSetReady(ctx, c, client.ObjectKey{Namespace: "istio-cni", Name: "istio-cni-node"})).To(Succeed())
		g.Eventually(kstatus(c, cni), timeout).Should(Equal(settled))
		g.Expect(testenv.Condition(cni, sailv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	})

	t.Run("deleting the conflicting revision lets the Istio, the tag and the ZTunnel recover", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(kstatus(c, istio)()).To(HavePrefix("Stalled=True/"), "the Istio still waits for the name")
		g.Expect(c.Delete(ctx, foreign)).To(Succeed())
		owned := func() bool {
			rev := &sailv1.IstioRevision{}
			return c.Get(ctx, client.ObjectKey{Name: "mesh"}, rev) == nil && metav1.IsControlledBy(rev, istio)
		}
		g.Eventually(owned, timeout).Should(BeTrue(), "the Istio creates its own revision once the name is free")
		key := client.ObjectKey{Namespace: "istio-system", Name: "istiod-mesh"}
		g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, key) }, timeout).Should(Succeed())
		g.Eventually(testenv.ConditionOf(c, istio, sailv1.ConditionReady), timeout).Should(Equal("True/" + sailv1.ReasonReady))
		g.Expect(kstatus(c, istio)()).To(Equal(settled))
		g.Eventually(testenv.ConditionOf(c, tag, sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		g.Eventually(kstatus(c, tag), timeout).Should(Equal(settled))
		g.Eventually(testenv.ConditionOf(c, zt, sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		g.Expect(testenv.MarkDaemonSetReady(ctx, c, client.ObjectKey{Namespace: "ztunnel", Name: "ztunnel"})).To(Succeed())
		g.Eventually(kstatus(c, zt), timeout).Should(Equal(settled))
	})
}
