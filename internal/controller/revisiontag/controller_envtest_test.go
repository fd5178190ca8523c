package revisiontag_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/mesh/revisiontags"
)

const timeout = testenv.Timeout

func condition(c client.Client, name, condType string) func() string {
	return testenv.ConditionOf(c, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: name}}, condType)
}

func tagRevision(c client.Client, name string) func() string {
	return func() string {
		tag := &sailv1.IstioRevisionTag{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, tag); err != nil {
			return "missing"
		}
		return tag.Status.IstioRevision
	}
}

// webhookService returns the istiod Service the tag's injection webhook calls.
func webhookService(c client.Client, name string) func() string {
	return func() string {
		mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, mwc); err != nil {
			return "missing"
		}
		if len(mwc.Webhooks) == 0 || mwc.Webhooks[0].ClientConfig.Service == nil {
			return "none"
		}
		return mwc.Webhooks[0].ClientConfig.Service.Name
	}
}

func newTag(name, kind, target string) *sailv1.IstioRevisionTag {
	return &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: sailv1.IstioRevisionTagSpec{TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: kind, Name: target}}}
}

func TestIstioRevisionTag_Lifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")

	tag := newTag("prod", sailv1.IstioKind, "mesh")
	g.Expect(c.Create(ctx, tag)).To(Succeed())

	t.Run("a missing target is reported as RefNotFound", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(condition(c, "prod", sailv1.ConditionReconciled), timeout).Should(Equal("False/" + sailv1.ReasonRefNotFound))
		g.Expect(webhookService(c, "istio-revision-tag-prod")()).To(Equal("missing"))
	})

	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "mesh"}, Spec: sailv1.IstioSpec{Version: "v1.30.0",
		Namespace: "istio-system", UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased}}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())

	t.Run("the tag recovers when its Istio appears and points at the active revision", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(condition(c, "prod", sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		g.Eventually(tagRevision(c, "prod"), timeout).Should(Equal("mesh-v1-30-0"))
		g.Eventually(webhookService(c, "istio-revision-tag-prod"), timeout).Should(Equal("istiod-mesh-v1-30-0"))
		svc := &corev1.Service{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "istiod-revision-tag-prod"}, svc)).To(Succeed())
		g.Expect(svc.Spec.Selector).To(HaveKeyWithValue("istio.io/rev", "mesh-v1-30-0"))
		g.Expect(svc.OwnerReferences).To(ContainElement(HaveField("Kind", sailv1.IstioRevisionTagKind)))
		g.Eventually(func() error {
			return testenv.MarkDeploymentAvailable(ctx, c, client.ObjectKey{Namespace: "istio-system", Name: "istiod-mesh-v1-30-0"})
		}, timeout).Should(Succeed())
	})

	t.Run("a namespace that selects the tag puts it in use", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(condition(c, "prod", sailv1.ConditionInUse)()).To(HavePrefix("False/"))
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app", Labels: map[string]string{"istio.io/rev": "prod"}}}
		g.Expect(c.Create(ctx, ns)).To(Succeed())
		g.Eventually(condition(c, "prod", sailv1.ConditionInUse), timeout).Should(HavePrefix("True/"))
		names, err := revisiontags.TagsOf(ctx, c, "mesh-v1-30-0")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(names).To(Equal([]string{"prod"}))
	})

	t.Run("the tag follows the Istio's active revision", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "mesh"}, istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Spec.Version = "v1.31.0"
		g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
		g.Eventually(func() error {
			return c.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "istiod-mesh-v1-31-0"}, &appsv1.Deployment{})
		}, timeout).Should(Succeed())
		g.Consistently(tagRevision(c, "prod"), 2*time.Second).Should(Equal("mesh-v1-30-0"),
			"the tag stays on the serving revision while the new one is not ready")
		g.Eventually(func() error {
			return testenv.MarkDeploymentAvailable(ctx, c, client.ObjectKey{Namespace: "istio-system", Name: "istiod-mesh-v1-31-0"})
		}, timeout).Should(Succeed())
		g.Eventually(tagRevision(c, "prod"), timeout).Should(Equal("mesh-v1-31-0"))
		g.Eventually(webhookService(c, "istio-revision-tag-prod"), timeout).Should(Equal("istiod-mesh-v1-31-0"))
		svc := &corev1.Service{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "istiod-revision-tag-prod"}, svc)).To(Succeed())
		g.Expect(svc.Spec.Selector).To(HaveKeyWithValue("istio.io/rev", "mesh-v1-31-0"))
	})

	t.Run("a tag named like an older revision reports NameAlreadyExists", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Create(ctx, newTag("mesh-v1-31-0", sailv1.IstioKind, "mesh"))).To(Succeed())
		g.Eventually(condition(c, "mesh-v1-31-0", sailv1.ConditionReconciled), timeout).Should(Equal("False/" + sailv1.ReasonNameAlreadyExists))
		g.Expect(webhookService(c, "istio-revision-tag-mesh-v1-31-0")()).To(Equal("missing"))
	})

	t.Run("the tag named default makes the default validator point at its revision", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Create(ctx, newTag("default", sailv1.IstioRevisionKind, "mesh-v1-31-0"))).To(Succeed())
		g.Eventually(condition(c, "default", sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "istiod-default-validator"}, vwc)).To(Succeed())
		g.Expect(vwc.Webhooks[0].ClientConfig.Service.Name).To(Equal("istiod-mesh-v1-31-0"))
		g.Expect(webhookService(c, "istio-revision-tag-default")()).To(Equal("istiod-mesh-v1-31-0"))
		injected := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Labels: map[string]string{"istio-injection": "enabled"}}}
		g.Expect(c.Create(ctx, injected)).To(Succeed())
		g.Eventually(condition(c, "default", sailv1.ConditionInUse), timeout).Should(HavePrefix("True/"))
	})

	t.Run("deleting a tag removes its objects", func(t *testing.T) {
		g := NewWithT(t)
		for _, name := range []string{"prod", "default"} {
			g.Expect(c.Delete(ctx, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
		}
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "prod"}, &sailv1.IstioRevisionTag{}))
		}, timeout).Should(BeTrue())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "default"}, &sailv1.IstioRevisionTag{}))
		}, timeout).Should(BeTrue())
		g.Expect(webhookService(c, "istio-revision-tag-prod")()).To(Equal("missing"))
		g.Expect(webhookService(c, "istio-revision-tag-default")()).To(Equal("missing"))
		err := c.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "istiod-revision-tag-prod"}, &corev1.Service{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the tag's Service is deleted")
		err = c.Get(ctx, client.ObjectKey{Name: "istiod-default-validator"}, &admissionregistrationv1.ValidatingWebhookConfiguration{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the default validator is deleted")
	})
}
