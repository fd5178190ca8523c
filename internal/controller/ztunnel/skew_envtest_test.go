package ztunnel_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// TestZTunnel_VersionSkewIsRefused creates a ZTunnel at v1.31 targeting an Istio at v1.30: it is refused with
// VersionSkew and installs nothing; once the Istio is upgraded to v1.31 and Ready there, the ZTunnel installs by
// itself.
func TestZTunnel_VersionSkewIsRefused(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "ztunnel")
	env.CreateNamespace(t, "istio-system")

	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{
		Version: "v1.30.0", Namespace: "istio-system", Profile: "ambient"}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	istiod := client.ObjectKey{Namespace: "istio-system", Name: "istiod"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, istiod) }, timeout).Should(Succeed())
	// The control plane runs v1.30 before the ZTunnel comes: its revision's status.readyVersion says so.
	g.Eventually(testenv.ConditionOf(c, istio, sailv1.ConditionReady), timeout).Should(HavePrefix("True/"))

	zt := &sailv1.ZTunnel{ObjectMeta: metav1.ObjectMeta{Name: sailv1.ZTunnelName}, Spec: sailv1.ZTunnelSpec{
		Version: "v1.31.0", TargetRef: &sailv1.ZTunnelTargetRef{Kind: sailv1.IstioKind, Name: "default"}}}
	g.Expect(c.Create(ctx, zt)).To(Succeed())
	g.Eventually(condition(c, sailv1.ConditionReconciled), timeout).Should(Equal("False/" + sailv1.ReasonVersionSkew))
	g.Expect(condition(c, "Stalled")()).To(Equal("True/" + sailv1.ReasonVersionSkew))
	key := client.ObjectKey{Namespace: "ztunnel", Name: "ztunnel"}
	g.Consistently(func() bool { return apierrors.IsNotFound(c.Get(ctx, key, &appsv1.DaemonSet{})) },
		2*time.Second, 200*time.Millisecond).Should(BeTrue(), "nothing is installed at a refused version")

	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version = "v1.31.0"
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	// istiod's Deployment is marked Available until the ZTunnel is reconciled: its revision is Ready at v1.31 only
	// once the rolled-out Deployment is.
	g.Eventually(func() string {
		_ = testenv.MarkDeploymentAvailable(ctx, c, istiod)
		return condition(c, sailv1.ConditionReconciled)()
	}, timeout).Should(Equal("True/"+sailv1.ReasonReconcileSucceeded), "the ZTunnel installs once its control plane runs v1.31")
	g.Expect(c.Get(ctx, key, &appsv1.DaemonSet{})).To(Succeed())
}
