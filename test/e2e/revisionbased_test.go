package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func revisionExists(ctx context.Context, c client.Client, name string) func() bool {
	return func() bool {
		return !apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: name}, &sailv1.IstioRevision{}))
	}
}

func TestIstio_RevisionBasedUpgrade(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	op, err := cluster.StartOperator(t.TempDir(), "operator")
	g.Expect(err).NotTo(HaveOccurred())
	defer op.Stop()
	defer op.DumpLogOnFailure(t)

	for _, name := range []string{"istio-canary", "app-canary"} {
		g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}))).To(Succeed())
	}
	grace := int64(3)
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "canary"}, Spec: sailv1.IstioSpec{
		Version: "v1.30-latest", Namespace: "istio-canary",
		UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased, InactiveRevisionDeletionGracePeriodSeconds: &grace},
	}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	g.Eventually(readyStatus(ctx, c, "canary"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "canary"}, istio)).To(Succeed())
	g.Expect(istio.Status.ActiveRevisionName).To(Equal("canary-v1-30-0"), "the revision is named after the resolved version, not the alias")

	// A namespace uses the old revision.
	app := &corev1.Namespace{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "app-canary"}, app)).To(Succeed())
	patch := client.MergeFrom(app.DeepCopy())
	app.Labels = map[string]string{"istio.io/rev": "canary-v1-30-0"}
	g.Expect(c.Patch(ctx, app, patch)).To(Succeed())

	g.Expect(c.Get(ctx, client.ObjectKey{Name: "canary"}, istio)).To(Succeed())
	patch = client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version = "v1.31-latest"
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	g.Eventually(func() string {
		_ = c.Get(ctx, client.ObjectKey{Name: "canary"}, istio)
		return istio.Status.ActiveRevisionName
	}, waitFor).Should(Equal("canary-v1-31-0"))
	g.Eventually(readyStatus(ctx, c, "canary"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))

	t.Run("the old revision is kept while a namespace uses it", func(t *testing.T) {
		g := NewWithT(t)
		g.Consistently(revisionExists(ctx, c, "canary-v1-30-0"), time.Duration(grace+3)*time.Second).Should(BeTrue())
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "canary"}, istio)).To(Succeed())
		g.Expect(istio.Status.Revisions.Total).To(Equal(int32(2)))
		g.Expect(istio.Status.Revisions.InUse).To(Equal(int32(1)))
	})

	t.Run("once relabelled, the old revision is pruned after the grace period", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "app-canary"}, app)).To(Succeed())
		patch := client.MergeFrom(app.DeepCopy())
		app.Labels = map[string]string{"istio.io/rev": "canary-v1-31-0"}
		g.Expect(c.Patch(ctx, app, patch)).To(Succeed())
		start := time.Now()
		g.Eventually(revisionExists(ctx, c, "canary-v1-30-0"), time.Duration(grace+30)*time.Second, 200*time.Millisecond).Should(BeFalse())
		g.Expect(time.Since(start)).To(BeNumerically(">=", time.Duration(grace)*time.Second-500*time.Millisecond), "not before the grace period")
		g.Eventually(func() error {
			return c.Get(ctx, client.ObjectKey{Namespace: "istio-canary", Name: "istiod-canary-v1-30-0"}, &corev1.Service{})
		}, waitFor).Should(Satisfy(apierrors.IsNotFound), "the old revision's objects are gone")
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "istio-canary", Name: "istiod-canary-v1-31-0"}, &corev1.Service{})).To(Succeed())
	})

	t.Run("switching to InPlace keeps serving and retires the unused revision", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "canary"}, istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Spec.UpdateStrategy.Type = sailv1.UpdateStrategyInPlace
		g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, client.ObjectKey{Name: "canary"}, istio)
			return istio.Status.ActiveRevisionName
		}, waitFor).Should(Equal("canary"))
		g.Eventually(readyStatus(ctx, c, "canary"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
		// canary-v1-31-0 is still selected by app-canary, so it stays.
		g.Consistently(revisionExists(ctx, c, "canary-v1-31-0"), time.Duration(grace+2)*time.Second).Should(BeTrue())
	})

	g.Expect(c.Delete(ctx, istio)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "canary"}, &sailv1.Istio{}))
	}, waitFor).Should(BeTrue())
	g.Expect(managedObjects(ctx, c, "canary-v1-31-0")).To(BeEmpty())
}
