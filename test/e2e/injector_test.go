package e2e

import (
	"bytes"
	"context"
	"testing"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

// injectedRevision creates a pod in namespace ns with the given labels and annotations and returns the istio.io/rev
// annotation admission left on it ("<none>" without one, or the creation error), after checking that the pod's
// own annotations survived; the pod is deleted again.
func injectedRevision(ctx context.Context, c client.Client, ns string, labels, annotations map[string]string) string {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "injected-", Labels: labels, Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}},
	}
	if err := c.Create(ctx, pod); err != nil {
		return err.Error()
	}
	defer func() { _ = c.Delete(ctx, pod, client.GracePeriodSeconds(0)) }()
	for k, v := range annotations {
		if pod.Annotations[k] != v {
			return "lost annotation " + k
		}
	}
	if rev, ok := pod.Annotations["istio.io/rev"]; ok {
		return rev
	}
	return "<none>"
}

// TestInjector_InjectsPodsAndFillsCABundles checks framework.Injector on its own, without the operator: it fills
// in the caBundle of the webhooks pointing at it (and only theirs) and records the revision, or the revision a tag
// points at, on the pods of namespaces selecting them.
func TestInjector_InjectsPodsAndFillsCABundles(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	const (
		mwcName = "sail-e2e-injector"
		rev     = "injector-e2e-rev"
		tagName = "injector-e2e-tag"
		tagRev  = "injector-e2e-tagged-rev"
	)
	// Leftovers of an interrupted run on a reused cluster: a webhook pointing at a dead port, a tag.
	g.Expect(client.IgnoreNotFound(c.Delete(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: mwcName}}))).To(Succeed())
	g.Expect(client.IgnoreNotFound(c.Delete(ctx, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: tagName}}))).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: tagName}, &sailv1.IstioRevisionTag{}))
	}, waitFor).Should(BeTrue())

	in, err := framework.StartInjector(ctx, c)
	g.Expect(err).NotTo(HaveOccurred())
	defer in.Stop()

	url := in.URL()
	fail, ignore, none := admissionregistrationv1.Fail, admissionregistrationv1.Ignore, admissionregistrationv1.SideEffectClassNone
	podRules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}}
	selecting := func(name string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "istio.io/rev", Operator: metav1.LabelSelectorOpIn, Values: []string{name}}}}
	}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: mwcName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{
			{Name: "rev.namespace.injector.sail.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url},
				NamespaceSelector: selecting(rev), Rules: podRules, FailurePolicy: &fail, SideEffects: &none,
				AdmissionReviewVersions: []string{"v1"}},
			{Name: "tag.namespace.injector.sail.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url},
				NamespaceSelector: selecting(tagName), Rules: podRules, FailurePolicy: &fail, SideEffects: &none,
				AdmissionReviewVersions: []string{"v1"}},
			// Not the injector's: its caBundle must stay empty. It selects nothing.
			{Name: "other.injector.sail.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{
				Service: &admissionregistrationv1.ServiceReference{Namespace: "default", Name: "nothing"}},
				NamespaceSelector: selecting("injector-e2e-nothing"), Rules: podRules, FailurePolicy: &ignore, SideEffects: &none,
				AdmissionReviewVersions: []string{"v1"}},
		},
	}
	g.Expect(c.Create(ctx, mwc)).To(Succeed())
	defer func() { g.Expect(client.IgnoreNotFound(c.Delete(ctx, mwc))).To(Succeed()) }()

	caBundles := func() []string {
		got := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := c.Get(ctx, client.ObjectKey{Name: mwcName}, got); err != nil {
			return []string{err.Error()}
		}
		var out []string
		for _, wh := range got.Webhooks {
			switch {
			case len(wh.ClientConfig.CABundle) == 0:
				out = append(out, "empty")
			case bytes.Equal(wh.ClientConfig.CABundle, in.CABundle()):
				out = append(out, "injector")
			default:
				out = append(out, "other")
			}
		}
		return out
	}
	g.Eventually(caBundles, waitFor).Should(Equal([]string{"injector", "injector", "empty"}), "injector error: %v", in.Err())

	namespace := func(selects string) string {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "injector-",
			Labels: map[string]string{"istio.io/rev": selects}}}
		g.Expect(c.Create(ctx, ns)).To(Succeed())
		t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
		return ns.Name
	}
	revNS, tagNS := namespace(rev), namespace(tagName)

	// The API server may call the webhook with the old, empty caBundle for a moment, hence Eventually.
	g.Eventually(func() string { return injectedRevision(ctx, c, revNS, nil, nil) }, waitFor).Should(Equal(rev),
		"a pod without annotations in a namespace selecting the revision; injector error: %v", in.Err())
	g.Expect(injectedRevision(ctx, c, revNS, nil, map[string]string{"example.com/keep": "yes"})).To(Equal(rev),
		"a pod with annotations keeps them")
	g.Expect(injectedRevision(ctx, c, revNS, map[string]string{"sidecar.istio.io/inject": "false"}, nil)).To(Equal("<none>"),
		"a pod that opts out")

	// A tag: pods of a namespace selecting it record the revision it points at. Nothing maintains the tag's status
	// here, but an operator of a concurrent run could reset it, so it is set again until the pod gets it.
	tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: tagName}, Spec: sailv1.IstioRevisionTagSpec{
		TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioRevisionKind, Name: tagRev}}}
	g.Expect(c.Create(ctx, tag)).To(Succeed())
	defer func() { g.Expect(client.IgnoreNotFound(c.Delete(ctx, tag))).To(Succeed()) }()
	g.Eventually(func() string {
		got := &sailv1.IstioRevisionTag{}
		if err := c.Get(ctx, client.ObjectKey{Name: tagName}, got); err != nil {
			return err.Error()
		}
		if got.Status.IstioRevision != tagRev {
			got.Status.IstioRevision = tagRev
			if err := c.Status().Update(ctx, got); err != nil {
				return err.Error()
			}
		}
		return injectedRevision(ctx, c, tagNS, nil, nil)
	}, waitFor).Should(Equal(tagRev), "injector error: %v", in.Err())

	g.Expect(in.Injected()).To(BeNumerically(">=", 3))
	byRev := in.InjectedByRevision()
	g.Expect(byRev[rev]).To(BeNumerically(">=", 2))
	g.Expect(byRev[tagRev]).To(BeNumerically(">=", 1))
	g.Expect(byRev).NotTo(HaveKey(tagName), "the tag's name is never recorded")
	t.Logf("injected %d pods: %v", in.Injected(), byRev)
}
