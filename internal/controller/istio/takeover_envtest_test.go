package istio_test

import (
	"context"
	"sort"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// injectors returns a function for Eventually that lists, as "configuration/webhook->service", the injection
// webhooks the API server would call for a pod without labels created in namespace ns.
func injectors(c client.Client, ns string) func() []string {
	return func() []string {
		ctx := context.Background()
		namespace := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: ns}, namespace); err != nil {
			return []string{err.Error()}
		}
		list := &admissionregistrationv1.MutatingWebhookConfigurationList{}
		if err := c.List(ctx, list); err != nil {
			return []string{err.Error()}
		}
		var out []string
		for _, mwc := range list.Items {
			for _, wh := range mwc.Webhooks {
				if selects(wh.NamespaceSelector, namespace.Labels) && selects(wh.ObjectSelector, nil) {
					service := "<url>"
					if wh.ClientConfig.Service != nil {
						service = wh.ClientConfig.Service.Name
					}
					out = append(out, mwc.Name+"/"+wh.Name+"->"+service)
				}
			}
		}
		sort.Strings(out)
		return out
	}
}

func selects(sel *metav1.LabelSelector, set map[string]string) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(set))
}

func tagStatus(c client.Client, name string) func() string {
	return func() string {
		tag := &sailv1.IstioRevisionTag{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, tag); err != nil {
			return err.Error()
		}
		cond := meta.FindStatusCondition(tag.Status.Conditions, sailv1.ConditionReconciled)
		if cond == nil {
			return "unset -> " + tag.Status.IstioRevision
		}
		return string(cond.Status) + "/" + cond.Reason + " -> " + tag.Status.IstioRevision
	}
}

func istioCondition(c client.Client, name, condType string) func() string {
	return testenv.ConditionOf(c, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}}, condType)
}

// TestIstio_SwitchingDefaultToRevisionBasedHandsOverToTheTag switches an InPlace Istio named default, whose
// revision (also named default) serves an istio-injection=enabled and an istio.io/rev=default namespace, to
// RevisionBased: the managed tag default takes the name over from the old revision once the new revision is
// Ready, both namespaces are then injected by the new revision through the tag (and by nothing else), the old
// revision's usage drops to zero and it is pruned, and the Istio reports the tag's progress meanwhile.
func TestIstio_SwitchingDefaultToRevisionBasedHandsOverToTheTag(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")
	for name, labels := range map[string]map[string]string{
		"legacy": {"istio-injection": "enabled"}, "pinned": {"istio.io/rev": "default"}} {
		g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})).To(Succeed())
	}

	istio := newIstio("default", "istio-system", nil)
	istio.Spec.UpdateStrategy = &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyInPlace,
		InactiveRevisionDeletionGracePeriodSeconds: ptr.To[int64](1)}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	oldKey := client.ObjectKey{Namespace: "istio-system", Name: "istiod"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, oldKey) }, timeout).Should(Succeed())
	g.Eventually(condition(c, "default", sailv1.ConditionReady), timeout).Should(Equal(metav1.ConditionTrue))
	g.Eventually(revisionCondition(c, "default", sailv1.ConditionInUse), timeout).Should(HavePrefix("True/"))
	for _, ns := range []string{"legacy", "pinned"} {
		g.Expect(injectors(c, ns)()).To(ConsistOf(HaveSuffix("->istiod")), "the InPlace revision injects %s", ns)
	}

	g.Expect(c.Get(ctx, client.ObjectKey{Name: "default"}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.UpdateStrategy.Type = sailv1.UpdateStrategyRevisionBased
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())

	t.Run("until the new revision is Ready, the old one keeps injecting and the Istio says why", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(istioCondition(c, "default", sailv1.ConditionDefaultTagReconciled), timeout).
			Should(Equal("False/" + sailv1.ReasonWaitingForRevision))
		g.Consistently(injectors(c, "legacy"), 2*time.Second).Should(ConsistOf(HaveSuffix("->istiod")))
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "default"}, &sailv1.IstioRevision{})).To(Succeed())
	})

	newKey := client.ObjectKey{Namespace: "istio-system", Name: "istiod-default-v1-31-0"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, newKey) }, timeout).Should(Succeed())

	t.Run("the tag takes over and the new revision alone injects both namespaces", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(tagStatus(c, "default"), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded + " -> default-v1-31-0"))
		for _, ns := range []string{"legacy", "pinned"} {
			g.Eventually(injectors(c, ns), timeout).Should(ConsistOf(
				HavePrefix("istio-revision-tag-default/")), "only the tag's webhook selects %s", ns)
			g.Expect(injectors(c, ns)()).To(ConsistOf(HaveSuffix("->istiod-default-v1-31-0")))
		}
		g.Eventually(istioCondition(c, "default", sailv1.ConditionDefaultTagReconciled), timeout).
			Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
	})

	t.Run("the old revision is unused, pruned, and the default validator calls the new revision", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "default"}, &sailv1.IstioRevision{}))
		}, timeout).Should(BeTrue(), "the old revision is pruned once nothing uses it")
		g.Eventually(revisionCondition(c, "default-v1-31-0", sailv1.ConditionInUse), timeout).Should(HavePrefix("True/"))
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		g.Eventually(func() string {
			if err := c.Get(ctx, client.ObjectKey{Name: "istiod-default-validator"}, vwc); err != nil {
				return err.Error()
			}
			return vwc.Webhooks[0].ClientConfig.Service.Name
		}, timeout).Should(Equal("istiod-default-v1-31-0"))
		for _, ns := range []string{"legacy", "pinned"} {
			g.Expect(injectors(c, ns)()).To(ConsistOf(HaveSuffix("->istiod-default-v1-31-0")))
		}
		g.Eventually(func() sailv1.LifecycleState {
			_ = c.Get(ctx, client.ObjectKey{Name: "default"}, istio)
			return istio.Status.State
		}, timeout).Should(Equal(sailv1.StateHealthy))
		g.Expect(istio.Status.Revisions.Total).To(Equal(int32(1)))
	})
}
