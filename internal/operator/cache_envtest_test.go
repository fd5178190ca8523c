package operator_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

// TestCache_KeepsOnlyWhatUsageReadsOfPodsAndNamespaces checks, through the running operator's cache, that a pod
// and a namespace are cached with only the labels, annotations and owner that usage tracking reads, and that a
// completed pod is not cached at all.
func TestCache_KeepsOnlyWhatUsageReadsOfPodsAndNamespaces(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	op := env.StartOperator(t)
	c := env.Client
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: map[string]string{"istio.io/rev": "r", "team": "a"},
		Annotations: map[string]string{"note": "long text"}}}
	g.Expect(c.Create(ctx, ns)).To(Succeed())
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "p",
		Labels:      map[string]string{"app": "a", "version": "v1", "istio.io/rev": "r", "sidecar.istio.io/inject": "true"},
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}", "istio.io/rev": "r"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i", Env: []corev1.EnvVar{{Name: "BIG", Value: "x"}}}}}}
	g.Expect(c.Create(ctx, pod)).To(Succeed())

	cached := op.Manager.GetClient()
	got := revision.PodMetadata()
	g.Eventually(func() error { return cached.Get(ctx, client.ObjectKeyFromObject(pod), got) }, testenv.Timeout).Should(Succeed())
	g.Expect(got.Labels).To(Equal(map[string]string{"istio.io/rev": "r", "sidecar.istio.io/inject": "true"}))
	g.Expect(got.Annotations).To(Equal(map[string]string{"istio.io/rev": "r"}))
	g.Expect(got.ManagedFields).To(BeEmpty())

	// A pod that has completed uses no revision: it leaves the cache (revision.RunningPods).
	pod.Status.Phase = corev1.PodSucceeded
	g.Expect(c.Status().Update(ctx, pod)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(cached.Get(ctx, client.ObjectKeyFromObject(pod), revision.PodMetadata()))
	}, testenv.Timeout).Should(BeTrue(), "a completed pod is not cached")

	nsMeta := &metav1.PartialObjectMetadata{}
	nsMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	g.Eventually(func() error { return cached.Get(ctx, client.ObjectKey{Name: "apps"}, nsMeta) }, testenv.Timeout).Should(Succeed())
	// Namespaces keep all their labels: an Istio's discoverySelectors may select any (revision.TrimNamespace).
	g.Expect(nsMeta.Labels).To(Equal(map[string]string{"istio.io/rev": "r", "team": "a", "kubernetes.io/metadata.name": "apps"}))
	g.Expect(nsMeta.Annotations).To(BeEmpty())
	g.Expect(nsMeta.ManagedFields).To(BeEmpty())
}

// TestApplier_ForgetsObjectsDeletedBehindItsBack removes an IstioCNI's finalizer by hand, deletes it, and deletes
// its objects the way the garbage collector would (envtest runs none): what the applier remembers goes with them.
func TestApplier_ForgetsObjectsDeletedBehindItsBack(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	op := env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-cni")
	cni := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: sailv1.IstioCNIName}}
	g.Expect(c.Create(ctx, cni)).To(Succeed())
	g.Eventually(testenv.ConditionOf(c, cni, sailv1.ConditionReconciled), testenv.Timeout).Should(HavePrefix("True/"))
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(cni), cni)).To(Succeed())
	inventory := cni.Status.Inventory
	g.Expect(op.Applier.Remembered()).To(Equal(len(inventory)), "the applier remembers each object it applied")

	patch := client.MergeFrom(cni.DeepCopy())
	cni.Finalizers = nil
	g.Expect(c.Patch(ctx, cni, patch)).To(Succeed())
	g.Expect(client.IgnoreNotFound(c.Delete(ctx, cni))).To(Succeed())
	for _, e := range inventory {
		u, err := apply.EntryObject(e)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(client.IgnoreNotFound(c.Delete(ctx, u))).To(Succeed())
	}
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(cni), &sailv1.IstioCNI{}))
	}, testenv.Timeout).Should(BeTrue())
	g.Eventually(op.Applier.Remembered, testenv.Timeout).Should(BeZero(), "nothing is remembered of objects that are gone")
}
