package dependencies_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

const timeout = testenv.Timeout

func TestDependenciesHealthy_FollowsIstioCNIAndZTunnel(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	for _, ns := range []string{"istio-system", "istio-cni", "ztunnel"} {
		env.CreateNamespace(t, ns)
	}

	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{
		Namespace: "istio-system", Profile: "ambient",
		Values: &sailv1.Values{Pilot: &sailv1.PilotConfig{TrustedZtunnelNamespace: "ztunnel"}}}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	revDeps := testenv.ConditionOf(c, rev, sailv1.ConditionDependenciesHealthy)
	istioDeps := testenv.ConditionOf(c, istio, sailv1.ConditionDependenciesHealthy)

	g.Eventually(revDeps, timeout).ShouldNot(BeElementOf("missing", "unset"))
	generation := rev.Generation

	g.Eventually(revDeps, timeout).Should(Equal("False/" + sailv1.ReasonIstioCNINotFound))
	g.Eventually(istioDeps, timeout).Should(Equal("False/"+sailv1.ReasonIstioCNINotFound), "the Istio shows its revision's condition")

	cni := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: sailv1.IstioCNIName}, Spec: sailv1.IstioCNISpec{Profile: "ambient"}}
	g.Expect(c.Create(ctx, cni)).To(Succeed())
	g.Eventually(revDeps, timeout).Should(Equal("False/" + sailv1.ReasonIstioCNINotHealthy))
	g.Eventually(func() error {
		return testenv.MarkDaemonSetReady(ctx, c, client.ObjectKey{Namespace: "istio-cni", Name: "istio-cni-node"})
	}, timeout).Should(Succeed())
	g.Eventually(revDeps, timeout).Should(Equal("False/" + sailv1.ReasonZTunnelNotFound))

	zt := &sailv1.ZTunnel{ObjectMeta: metav1.ObjectMeta{Name: sailv1.ZTunnelName}, Spec: sailv1.ZTunnelSpec{
		TargetRef: &sailv1.ZTunnelTargetRef{Kind: sailv1.IstioKind, Name: "default"}}}
	g.Expect(c.Create(ctx, zt)).To(Succeed())
	g.Eventually(revDeps, timeout).Should(Equal("False/" + sailv1.ReasonZTunnelNotHealthy))
	g.Eventually(func() error {
		return testenv.MarkDaemonSetReady(ctx, c, client.ObjectKey{Namespace: "ztunnel", Name: "ztunnel"})
	}, timeout).Should(Succeed())
	g.Eventually(revDeps, timeout).Should(Equal("True/" + sailv1.ReasonHealthy))
	g.Eventually(istioDeps, timeout).Should(Equal("True/" + sailv1.ReasonHealthy))

	g.Expect(c.Delete(ctx, zt)).To(Succeed())
	g.Eventually(revDeps, timeout).Should(Equal("False/"+sailv1.ReasonZTunnelNotFound), "a deleted ZTunnel is noticed")

	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(rev), rev)).To(Succeed())
	g.Expect(rev.Generation).To(Equal(generation), "dependency changes do not touch the revision's spec")
}
