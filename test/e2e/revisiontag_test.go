package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// tagState returns "<Reconciled status>/<reason> -> <revision>" of a tag.
func tagState(ctx context.Context, c client.Client, name string) func() string {
	return func() string {
		tag := &sailv1.IstioRevisionTag{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, tag); err != nil {
			return err.Error()
		}
		cond := meta.FindStatusCondition(tag.Status.Conditions, sailv1.ConditionReconciled)
		if cond == nil {
			return "pending"
		}
		return string(cond.Status) + "/" + cond.Reason + " -> " + tag.Status.IstioRevision
	}
}

func TestIstioRevisionTag_FollowsTheActiveRevision(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	op, err := cluster.StartOperator(t.TempDir(), "operator")
	g.Expect(err).NotTo(HaveOccurred())
	defer op.Stop()
	defer op.DumpLogOnFailure(t)

	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-tagged"}}))).To(Succeed())
	tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "stable"}, Spec: sailv1.IstioRevisionTagSpec{
		TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: "tagged"}}}
	g.Expect(c.Create(ctx, tag)).To(Succeed())
	g.Eventually(tagState(ctx, c, "stable"), waitFor).Should(Equal("False/" + sailv1.ReasonRefNotFound + " -> "))

	grace := int64(3)
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "tagged"}, Spec: sailv1.IstioSpec{
		Version: "v1.30.0", Namespace: "istio-tagged",
		UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased, InactiveRevisionDeletionGracePeriodSeconds: &grace},
	}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	g.Eventually(tagState(ctx, c, "stable"), waitFor).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded + " -> tagged-v1-30-0"))
	webhookService := func() string {
		mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := c.Get(ctx, client.ObjectKey{Name: "istio-revision-tag-stable-istio-tagged"}, mwc); err != nil {
			return err.Error()
		}
		return mwc.Webhooks[0].ClientConfig.Service.Name
	}
	g.Expect(webhookService()).To(Equal("istiod-tagged-v1-30-0"))
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "istio-tagged", Name: "istiod-revision-tag-stable"}, &corev1.Service{})).To(Succeed())

	g.Eventually(readyStatus(ctx, c, "tagged"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "tagged"}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version = "v1.31.0"
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	g.Eventually(tagState(ctx, c, "stable"), waitFor).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded + " -> tagged-v1-31-0"))
	g.Eventually(webhookService, waitFor).Should(Equal("istiod-tagged-v1-31-0"))

	g.Expect(c.Delete(ctx, tag)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "istio-revision-tag-stable-istio-tagged"},
			&admissionregistrationv1.MutatingWebhookConfiguration{}))
	}, waitFor).Should(BeTrue())
	g.Expect(c.Delete(ctx, istio)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "tagged"}, &sailv1.Istio{}))
	}, waitFor).Should(BeTrue())
}
