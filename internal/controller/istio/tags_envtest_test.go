package istio_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

func revisionCondition(c client.Client, name, condType string) func() string {
	return testenv.ConditionOf(c, &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: name}}, condType)
}

func TestIstioRevision_TagsAndNameConflicts(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")
	g.Expect(c.Create(ctx, newIstio("default", "istio-system", nil))).To(Succeed())
	g.Eventually(revisionCondition(c, "default", sailv1.ConditionInUse), timeout).Should(HavePrefix("False/"))

	t.Run("a namespace that selects a tag puts the tag's revision in use", func(t *testing.T) {
		g := NewWithT(t)
		tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "prod"},
			Spec: sailv1.IstioRevisionTagSpec{TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: "default"}}}
		g.Expect(c.Create(ctx, tag)).To(Succeed())
		g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"istio.io/rev": "prod"}}})).To(Succeed())
		g.Eventually(revisionCondition(c, "default", sailv1.ConditionInUse), timeout).Should(HavePrefix("True/"))
	})

	t.Run("a revision younger than a tag of the same name is refused", func(t *testing.T) {
		g := NewWithT(t)
		tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "canary"},
			Spec: sailv1.IstioRevisionTagSpec{TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: "default"}}}
		g.Expect(c.Create(ctx, tag)).To(Succeed())
		time.Sleep(1100 * time.Millisecond) // creation timestamps have one-second resolution
		g.Expect(c.Create(ctx, newIstio("canary", "istio-system", nil))).To(Succeed())
		g.Eventually(revisionCondition(c, "canary", sailv1.ConditionReconciled), timeout).Should(Equal("False/" + sailv1.ReasonNameAlreadyExists))

		g.Expect(c.Delete(ctx, tag)).To(Succeed())
		g.Eventually(revisionCondition(c, "canary", sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
	})
}

func TestIstio_ManagedDefaultTag(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")
	istio := newIstio("default", "istio-system", nil)
	istio.Spec.UpdateStrategy = &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased}
	g.Expect(c.Create(ctx, istio)).To(Succeed())

	tag := &sailv1.IstioRevisionTag{}
	g.Eventually(func() string {
		_ = c.Get(ctx, client.ObjectKey{Name: "default"}, tag)
		return tag.Status.IstioRevision
	}, timeout).Should(Equal("default-v1-31-0"), "a managed default tag follows the active revision")
	g.Expect(metav1.IsControlledBy(tag, istio)).To(BeTrue())

	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Labels: map[string]string{"istio-injection": "enabled"}}})).To(Succeed())
	g.Eventually(revisionCondition(c, "default-v1-31-0", sailv1.ConditionInUse), timeout).Should(HavePrefix("True/"),
		"istio-injection=enabled namespaces keep working through the tag")

	g.Expect(c.Get(ctx, client.ObjectKey{Name: "default"}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.UpdateStrategy.Type = sailv1.UpdateStrategyInPlace
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	g.Eventually(func() bool {
		return c.Get(ctx, client.ObjectKey{Name: "default"}, &sailv1.IstioRevisionTag{}) != nil
	}, timeout).Should(BeTrue(), "with InPlace the revision named default serves them itself")
	g.Eventually(revisionCondition(c, "default", sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
}
