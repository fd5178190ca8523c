package istio_test

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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

const timeout = testenv.Timeout

func newIstio(name, ns string, env map[string]string) *sailv1.Istio {
	return &sailv1.Istio{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       sailv1.IstioSpec{Namespace: ns, Values: &sailv1.Values{Pilot: &sailv1.PilotConfig{Env: testenv.JSON(env)}}},
	}
}

func condition(c client.Client, name, condType string) func() metav1.ConditionStatus {
	return testenv.ConditionStatusOf(c, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}}, condType)
}

func TestIstio_Lifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")

	istio := newIstio("default", "istio-system", map[string]string{"SAIL_TEST": "one"})
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	g.Expect(istio.Spec.Version).To(Equal("v1.31.0"), "the version defaults to the newest")

	deploy := &appsv1.Deployment{}
	key := client.ObjectKey{Namespace: "istio-system", Name: "istiod"}
	g.Eventually(func() error { return c.Get(ctx, key, deploy) }, timeout).Should(Succeed())
	g.Expect(testenv.ContainerEnv(deploy, "SAIL_TEST")).To(Equal("one"), "the user's values reach the Deployment")
	g.Expect(deploy.Spec.Template.Spec.Containers[0].Image).To(Equal("docker.io/istio/pilot:1.31.0"))
	g.Eventually(condition(c, "default", sailv1.ConditionReconciled), timeout).Should(Equal(metav1.ConditionTrue))
	g.Expect(condition(c, "default", sailv1.ConditionReady)()).To(Equal(metav1.ConditionFalse), "not ready before istiod is available")

	g.Expect(testenv.MarkDeploymentAvailable(ctx, c, key)).To(Succeed())
	g.Eventually(condition(c, "default", sailv1.ConditionReady), timeout).Should(Equal(metav1.ConditionTrue))
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "default"}, istio)).To(Succeed())
	g.Expect(istio.Status.ActiveRevisionName).To(Equal("default"))
	g.Expect(istio.Status.Revisions).To(Equal(sailv1.RevisionSummary{Total: 1, Ready: 1, InUse: 0}), "nothing uses it yet")
	g.Expect(istio.Status.State).To(Equal(sailv1.StateHealthy))

	t.Run("the base chart's default validator and Istio's CRDs are installed", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "istiod-default-validator"}, &admissionregistrationv1.ValidatingWebhookConfiguration{})).To(Succeed())
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "virtualservices.networking.istio.io"}, crd)).To(Succeed())
	})

	t.Run("a namespace labelled for injection puts the revision in use", func(t *testing.T) {
		g := NewWithT(t)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app", Labels: map[string]string{"istio-injection": "enabled"}}}
		g.Expect(c.Create(ctx, ns)).To(Succeed())
		g.Eventually(func() int32 {
			_ = c.Get(ctx, client.ObjectKey{Name: "default"}, istio)
			return istio.Status.Revisions.InUse
		}, timeout).Should(Equal(int32(1)))
		patch := client.MergeFrom(ns.DeepCopy())
		ns.Labels = nil
		g.Expect(c.Patch(ctx, ns, patch)).To(Succeed())
		g.Eventually(func() int32 {
			_ = c.Get(ctx, client.ObjectKey{Name: "default"}, istio)
			return istio.Status.Revisions.InUse
		}, timeout).Should(Equal(int32(0)))
	})

	t.Run("a values change updates the Deployment", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "default"}, istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Spec.Values.Pilot.Env = testenv.JSON(map[string]string{"SAIL_TEST": "two"})
		g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, key, deploy)
			return testenv.ContainerEnv(deploy, "SAIL_TEST")
		}, timeout).Should(Equal("two"))
		g.Eventually(condition(c, "default", sailv1.ConditionReady), timeout).Should(Equal(metav1.ConditionFalse),
			"a rollout in progress is not ready")
		g.Expect(c.Get(ctx, key, deploy)).To(Succeed())
		g.Expect(testenv.MarkDeploymentAvailable(ctx, c, key)).To(Succeed())
		g.Eventually(condition(c, "default", sailv1.ConditionReady), timeout).Should(Equal(metav1.ConditionTrue))
	})

	t.Run("a deleted owned object is recreated", func(t *testing.T) {
		g := NewWithT(t)
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istiod"}}
		g.Expect(c.Delete(ctx, svc)).To(Succeed())
		g.Eventually(func() error { return c.Get(ctx, client.ObjectKeyFromObject(svc), svc) }, timeout).Should(Succeed())
	})

	t.Run("an edited owned field is repaired", func(t *testing.T) {
		g := NewWithT(t)
		cm := &corev1.ConfigMap{}
		cmKey := client.ObjectKey{Namespace: "istio-system", Name: "istio"}
		g.Expect(c.Get(ctx, cmKey, cm)).To(Succeed())
		want := cm.Data["mesh"]
		cm.Data["mesh"] = "edited: by hand"
		g.Expect(c.Update(ctx, cm, client.FieldOwner("kubectl-edit"))).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, cmKey, cm)
			return cm.Data["mesh"]
		}, timeout).Should(Equal(want))
	})

	t.Run("fields istiod writes are left alone", func(t *testing.T) {
		g := NewWithT(t)
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "istio-validator-istio-system"}, vwc)).To(Succeed())
		fail := admissionregistrationv1.Fail
		for i := range vwc.Webhooks {
			vwc.Webhooks[i].ClientConfig.CABundle = []byte("istiod-ca")
			vwc.Webhooks[i].FailurePolicy = &fail
		}
		g.Expect(c.Update(ctx, vwc, client.FieldOwner("pilot-discovery"))).To(Succeed())
		// A values change makes the operator apply again; istiod's fields must survive it.
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "default"}, istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Spec.Values.Pilot.Env = testenv.JSON(map[string]string{"SAIL_TEST": "three"})
		g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, key, deploy)
			return testenv.ContainerEnv(deploy, "SAIL_TEST")
		}, timeout).Should(Equal("three"))
		g.Consistently(func() string {
			_ = c.Get(ctx, client.ObjectKey{Name: "istio-validator-istio-system"}, vwc)
			return string(vwc.Webhooks[0].ClientConfig.CABundle) + "/" + string(*vwc.Webhooks[0].FailurePolicy)
		}, 2*time.Second).Should(Equal("istiod-ca/Fail"))
	})

	t.Run("deleting the Istio removes everything it installed", func(t *testing.T) {
		g := NewWithT(t)
		rev := &sailv1.IstioRevision{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "default"}, rev)).To(Succeed())
		inventory := rev.Status.Inventory
		g.Expect(len(inventory)).To(BeNumerically(">", 10))
		g.Expect(c.Delete(ctx, istio)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "default"}, &sailv1.Istio{}))
		}, timeout).Should(BeTrue())
		g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "default"}, &sailv1.IstioRevision{}))).To(BeTrue())
		for _, e := range inventory {
			u, err := apply.EntryObject(e)
			g.Expect(err).NotTo(HaveOccurred())
			err = c.Get(ctx, client.ObjectKeyFromObject(u), u)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s should be deleted", e.ID)
		}
	})
}
