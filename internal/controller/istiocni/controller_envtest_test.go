package istiocni_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

const timeout = testenv.Timeout

func condition(c client.Client, condType string) func() string {
	return testenv.ConditionOf(c, &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: sailv1.IstioCNIName}}, condType)
}

func TestIstioCNI_Lifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client

	t.Run("a name other than default is rejected at admission", func(t *testing.T) {
		g := NewWithT(t)
		err := c.Create(ctx, &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: "other"}})
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		g.Expect(err.Error()).To(ContainSubstring("must be named default"))
	})

	cni := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: sailv1.IstioCNIName}, Spec: sailv1.IstioCNISpec{
		Profile: "ambient",
		Values:  &sailv1.CNIValues{Cni: &sailv1.CNIConfig{Env: testenv.JSON(map[string]string{"SAIL_TEST": "one"})}},
	}}
	g.Expect(c.Create(ctx, cni)).To(Succeed())
	g.Expect(cni.Spec.Version).To(Equal("v1.31.0"), "the version defaults to the newest")
	g.Expect(cni.Spec.Namespace).To(Equal("istio-cni"), "the namespace defaults to istio-cni")

	t.Run("a missing namespace is reported, and the install proceeds once it exists", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(condition(c, sailv1.ConditionReconciled), timeout).Should(Equal("False/" + sailv1.ReasonNamespaceNotFound))
		env.CreateNamespace(t, "istio-cni")
		g.Eventually(condition(c, sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
	})

	ds := &appsv1.DaemonSet{}
	key := client.ObjectKey{Namespace: "istio-cni", Name: "istio-cni-node"}
	g.Eventually(func() error { return c.Get(ctx, key, ds) }, timeout).Should(Succeed())
	g.Expect(testenv.ContainerEnv(ds, "SAIL_TEST")).To(Equal("one"), "the user's values reach the DaemonSet")
	g.Expect(ds.Spec.Template.Spec.Containers[0].Image).To(Equal("docker.io/istio/install-cni:1.31.0-distroless"),
		"hub and tag from the versions list, variant from the ambient profile")
	cm := &corev1.ConfigMap{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "istio-cni", Name: "istio-cni-config"}, cm)).To(Succeed())
	g.Expect(cm.Data).To(HaveKeyWithValue("AMBIENT_ENABLED", "true"), "the ambient profile applies")
	g.Expect(condition(c, sailv1.ConditionReady)()).To(Equal("False/"+sailv1.ReasonNotReady), "not ready before the DaemonSet is")

	g.Expect(testenv.MarkDaemonSetReady(ctx, c, key)).To(Succeed())
	g.Eventually(condition(c, sailv1.ConditionReady), timeout).Should(Equal("True/" + sailv1.ReasonReady))
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(cni), cni)).To(Succeed())
	g.Expect(cni.Status.State).To(Equal(sailv1.StateHealthy))
	g.Expect(cni.Status.Version).To(Equal("v1.31.0"))
	g.Expect(cni.Status.ObservedGeneration).To(Equal(cni.Generation))

	t.Run("a values change updates the DaemonSet", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(cni), cni)).To(Succeed())
		patch := client.MergeFrom(cni.DeepCopy())
		cni.Spec.Values.Cni.Env = testenv.JSON(map[string]string{"SAIL_TEST": "two"})
		g.Expect(c.Patch(ctx, cni, patch)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, key, ds)
			return testenv.ContainerEnv(ds, "SAIL_TEST")
		}, timeout).Should(Equal("two"))
		g.Eventually(condition(c, sailv1.ConditionReady), timeout).Should(Equal("False/"+sailv1.ReasonNotReady),
			"a rollout in progress is not ready")
		g.Expect(c.Get(ctx, key, ds)).To(Succeed())
		g.Expect(testenv.MarkDaemonSetReady(ctx, c, key)).To(Succeed())
		g.Eventually(condition(c, sailv1.ConditionReady), timeout).Should(Equal("True/" + sailv1.ReasonReady))
	})

	t.Run("a deleted DaemonSet is recreated", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, key, ds)).To(Succeed())
		old := ds.UID
		g.Expect(c.Delete(ctx, ds)).To(Succeed())
		g.Eventually(func() bool {
			fresh := &appsv1.DaemonSet{}
			return c.Get(ctx, key, fresh) == nil && fresh.UID != old
		}, timeout).Should(BeTrue())
	})

	t.Run("the namespace is immutable", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(cni), cni)).To(Succeed())
		patch := client.MergeFrom(cni.DeepCopy())
		cni.Spec.Namespace = "elsewhere"
		err := c.Patch(ctx, cni, patch)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
	})

	t.Run("deleting the IstioCNI removes everything it installed", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(cni), cni)).To(Succeed())
		inventory := cni.Status.Inventory
		g.Expect(len(inventory)).To(BeNumerically(">=", 5))
		g.Expect(c.Delete(ctx, cni)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(cni), &sailv1.IstioCNI{}))
		}, timeout).Should(BeTrue())
		for _, e := range inventory {
			u, err := apply.EntryObject(e)
			g.Expect(err).NotTo(HaveOccurred())
			err = c.Get(ctx, client.ObjectKeyFromObject(u), u)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s should be deleted", e.ID)
		}
	})
}
