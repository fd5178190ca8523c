package istio_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// waypointPod is a waypoint istiod deployed for revision rev: it opts out of injection but runs rev's proxy.
func waypointPod(ns, rev string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "waypoint", Labels: map[string]string{
			"istio.io/rev": rev, "sidecar.istio.io/inject": "false", "gateway.istio.io/managed": "istio.io-mesh-controller"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "istio-proxy", Image: "proxyv2"}}},
	}
}

// inUseMessage returns a function for Eventually that reads the revision's InUse condition as
// "Status/Reason: message".
func inUseMessage(c client.Client, name string) func() string {
	return func() string {
		rev := &sailv1.IstioRevision{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, rev); err != nil {
			return err.Error()
		}
		cond := meta.FindStatusCondition(rev.Status.Conditions, sailv1.ConditionInUse)
		if cond == nil {
			return "unset"
		}
		return string(cond.Status) + "/" + cond.Reason + ": " + cond.Message
	}
}

// kept checks that the revision is neither pruned nor unused for a while past its grace period.
func kept(g Gomega, c client.Client, name, why string) {
	g.Eventually(revisionCondition(c, name, sailv1.ConditionInUse), timeout).Should(HavePrefix("True/"), why)
	g.Consistently(revisionCondition(c, name, sailv1.ConditionInUse), 3*time.Second, 250*time.Millisecond).
		Should(HavePrefix("True/"), why)
}

// TestIstio_RevisionBasedUpgradeKeepsRevisionsInUse upgrades a RevisionBased Istio (grace period 1 s) whose old
// revision is used only by things other than namespaces and sidecar pods, each alone in turn: the ZTunnel's
// targetRef, a waypoint pod, and a namespace that selects a tag the revision's values declare
// (spec.values.revisionTags). The old revision stays while any of them uses it and is pruned once none does.
func TestIstio_RevisionBasedUpgradeKeepsRevisionsInUse(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")
	apps := env.CreateNamespace(t, "apps")

	istio := newIstio("mesh", "istio-system", nil)
	istio.Spec.Version = "v1.30.0"
	istio.Spec.Values.RevisionTags = []string{"prod"}
	istio.Spec.UpdateStrategy = &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased,
		InactiveRevisionDeletionGracePeriodSeconds: ptr.To[int64](1)}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	oldDeploy := client.ObjectKey{Namespace: "istio-system", Name: "istiod-mesh-v1-30-0"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, oldDeploy) }, timeout).Should(Succeed())
	g.Eventually(revisionCondition(c, "mesh-v1-30-0", sailv1.ConditionInUse), timeout).Should(HavePrefix("False/"))

	zt := &sailv1.ZTunnel{ObjectMeta: metav1.ObjectMeta{Name: sailv1.ZTunnelName}, Spec: sailv1.ZTunnelSpec{
		TargetRef: &sailv1.ZTunnelTargetRef{Kind: sailv1.IstioRevisionKind, Name: "mesh-v1-30-0"}}}
	g.Expect(c.Create(ctx, zt)).To(Succeed())
	g.Eventually(inUseMessage(c, "mesh-v1-30-0"), timeout).Should(ContainSubstring("ZTunnel targets"))

	// Upgrade; the new revision declares no tag, so prod stays with the old one.
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "mesh"}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version, istio.Spec.Values.RevisionTags = "v1.31.0", nil
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	newDeploy := client.ObjectKey{Namespace: "istio-system", Name: "istiod-mesh-v1-31-0"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, newDeploy) }, timeout).Should(Succeed())
	g.Eventually(func() string {
		_ = c.Get(ctx, client.ObjectKey{Name: "mesh"}, istio)
		return istio.Status.ActiveRevisionName
	}, timeout).Should(Equal("mesh-v1-31-0"))
	kept(g, c, "mesh-v1-30-0", "the ZTunnel targets the old revision")

	g.Expect(c.Create(ctx, waypointPod(apps.Name, "mesh-v1-30-0"))).To(Succeed())
	g.Expect(c.Delete(ctx, zt)).To(Succeed())
	g.Eventually(inUseMessage(c, "mesh-v1-30-0"), timeout).ShouldNot(ContainSubstring("ZTunnel"))
	kept(g, c, "mesh-v1-30-0", "a waypoint pod runs the old revision")

	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(apps), apps)).To(Succeed())
	nsPatch := client.MergeFrom(apps.DeepCopy())
	apps.Labels["istio.io/rev"] = "prod"
	g.Expect(c.Patch(ctx, apps, nsPatch)).To(Succeed())
	g.Expect(c.Delete(ctx, waypointPod(apps.Name, ""), client.GracePeriodSeconds(0))).To(Succeed())
	g.Eventually(inUseMessage(c, "mesh-v1-30-0"), timeout).Should(ContainSubstring("Namespaces select"))
	kept(g, c, "mesh-v1-30-0", "a namespace selects the tag the old revision's values declare")

	nsPatch = client.MergeFrom(apps.DeepCopy())
	delete(apps.Labels, "istio.io/rev")
	g.Expect(c.Patch(ctx, apps, nsPatch)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "mesh-v1-30-0"}, &sailv1.IstioRevision{}))
	}, timeout).Should(BeTrue(), "unused, the old revision is pruned")
}
