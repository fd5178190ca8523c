package revisiontag_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// tenantIstio returns an InPlace Istio (its revision has its name) installing into namespace, whose values
// declare the given revision tags.
func tenantIstio(name, namespace string, tags ...string) *sailv1.Istio {
	return &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: sailv1.IstioSpec{Version: "v1.31.0",
		Namespace: namespace, Values: &sailv1.Values{RevisionTags: tags}}}
}

// webhookOwner returns the kind and name of the controller of the MutatingWebhookConfiguration name.
func webhookOwner(c client.Client, name string) func() string {
	return func() string {
		mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, mwc); err != nil {
			return "missing"
		}
		if ref := metav1.GetControllerOf(mwc); ref != nil {
			return ref.Kind + "/" + ref.Name
		}
		return "none"
	}
}

// The webhooks of tag prod installed by each tenant's control plane.
const (
	tagA = "istio-revision-tag-prod-tenant-a-system"
	tagB = "istio-revision-tag-prod-tenant-b-system"
	tagC = "istio-revision-tag-prod-tenant-c-system"
)

func conditionMessage(c client.Client, obj client.Object, condType string) string {
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		return err.Error()
	}
	if cond := testenv.Condition(obj, condType); cond != nil {
		return cond.Message
	}
	return ""
}

// TestInjectionCollision_ValuesTagAndRevisionTag: an Istio's spec.values.revisionTags and an IstioRevisionTag of
// the same name would install the same injection webhook for two control planes. The older claim installs it;
// the newer reports InjectionCollision naming the other and installs nothing, until the older claim goes.
func TestInjectionCollision_ValuesTagAndRevisionTag(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "tenant-a-system")
	env.CreateNamespace(t, "tenant-b-system")

	a := tenantIstio("tenant-a", "tenant-a-system", "prod")
	g.Expect(c.Create(ctx, a)).To(Succeed())
	// Outside istio-system the chart suffixes a tag's webhook with the namespace: the names differ, the
	// selector (istio.io/rev=prod) is the same.
	g.Eventually(webhookService(c, tagA), timeout).Should(Equal("istiod-tenant-a"))
	g.Expect(c.Create(ctx, tenantIstio("tenant-b", "tenant-b-system"))).To(Succeed())
	g.Eventually(webhookService(c, "istio-sidecar-injector-tenant-b-tenant-b-system"), timeout).Should(Equal("istiod-tenant-b"))

	t.Run("a tag newer than an Istio's values claim is not installed", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Create(ctx, newTag("prod", sailv1.IstioKind, "tenant-b"))).To(Succeed())
		g.Eventually(condition(c, "prod", sailv1.ConditionReconciled), timeout).Should(Equal("False/" + sailv1.ReasonInjectionCollision))
		g.Expect(conditionMessage(c, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "prod"}}, sailv1.ConditionReconciled)).
			To(ContainSubstring("Istio tenant-a is older"))
		g.Expect(condition(c, "prod", status.ConditionStalled)()).To(HavePrefix("True/"))
		g.Consistently(webhookService(c, tagB), 2*time.Second).Should(Equal("missing"))
		g.Expect(webhookOwner(c, tagA)()).To(Equal("IstioRevision/tenant-a"))
		rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "tenant-a"}}
		g.Eventually(testenv.ConditionOf(c, rev, sailv1.ConditionValueTagsInstalled), timeout).Should(HavePrefix("True/"))
	})

	t.Run("the tag installs once the older claim goes", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "tenant-a"}, a)).To(Succeed())
		patch := client.MergeFrom(a.DeepCopy())
		a.Spec.Values.RevisionTags = nil
		g.Expect(c.Patch(ctx, a, patch)).To(Succeed())
		g.Eventually(condition(c, "prod", sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		g.Eventually(webhookService(c, tagB), timeout).Should(Equal("istiod-tenant-b"))
		g.Expect(webhookOwner(c, tagB)()).To(Equal("IstioRevisionTag/prod"))
		g.Eventually(webhookService(c, tagA), timeout).Should(Equal("missing"))
	})

	t.Run("an Istio's values claim newer than a tag is not installed", func(t *testing.T) {
		g := NewWithT(t)
		time.Sleep(1100 * time.Millisecond) // creation timestamps have one-second resolution: make tenant-c newer
		env.CreateNamespace(t, "tenant-c-system")
		g.Expect(c.Create(ctx, tenantIstio("tenant-c", "tenant-c-system", "prod"))).To(Succeed())
		rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "tenant-c"}}
		g.Eventually(testenv.ConditionOf(c, rev, sailv1.ConditionValueTagsInstalled), timeout).
			Should(Equal("False/" + sailv1.ReasonInjectionCollision))
		g.Expect(conditionMessage(c, rev, sailv1.ConditionValueTagsInstalled)).To(ContainSubstring("IstioRevisionTag prod is older"))
		g.Eventually(testenv.ConditionOf(c, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "tenant-c"}}, sailv1.ConditionValueTagsInstalled),
			timeout).Should(Equal("False/"+sailv1.ReasonInjectionCollision), "the Istio shows its revision's collision")
		g.Eventually(webhookService(c, "istio-sidecar-injector-tenant-c-tenant-c-system"), timeout).Should(Equal("istiod-tenant-c"))
		g.Consistently(webhookService(c, tagC), 2*time.Second).Should(Equal("missing"))
		g.Expect(webhookService(c, tagB)()).To(Equal("istiod-tenant-b"))
		g.Expect(condition(c, "prod", sailv1.ConditionReconciled)()).To(Equal("True/" + sailv1.ReasonReconcileSucceeded))
	})

	t.Run("the values claim installs once the older tag goes", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Delete(ctx, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "prod"}})).To(Succeed())
		g.Eventually(webhookService(c, tagC), timeout).Should(Equal("istiod-tenant-c"))
		g.Expect(webhookOwner(c, tagC)()).To(Equal("IstioRevision/tenant-c"))
		g.Eventually(webhookService(c, tagB), timeout).Should(Equal("missing"))
		rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "tenant-c"}}
		g.Eventually(testenv.ConditionOf(c, rev, sailv1.ConditionValueTagsInstalled), timeout).Should(HavePrefix("True/"))
	})

	t.Run("Istios in different namespaces share no object", func(t *testing.T) {
		g := NewWithT(t)
		seen := map[string]string{}
		for _, name := range []string{"tenant-a", "tenant-b", "tenant-c"} {
			rev := &sailv1.IstioRevision{}
			g.Eventually(func() string {
				_ = c.Get(ctx, client.ObjectKey{Name: name}, rev)
				return testenv.ConditionOf(c, rev, sailv1.ConditionReconciled)()
			}, timeout).Should(HavePrefix("True/"))
			g.Expect(rev.Status.Inventory).NotTo(BeEmpty())
			for _, e := range rev.Status.Inventory {
				g.Expect(seen).NotTo(HaveKey(e.ID), "%s is applied by both %s and %s", e.ID, seen[e.ID], name)
				seen[e.ID] = name
			}
		}
		clusterScoped := 0
		for id := range seen {
			if strings.HasPrefix(id, "_") {
				clusterScoped++
			}
		}
		g.Expect(clusterScoped).To(BeNumerically(">", 3), "each revision has cluster-scoped objects of its own")
	})
}

// TestInjectionCollision_TwoIstiosValuesTag: two Istios whose spec.values.revisionTags list the same tag would
// each install an injection webhook for istio.io/rev=<tag>. The older Istio's claim installs it; the newer Istio
// reports InjectionCollision naming the older and installs no webhook for the tag, until the older claim goes.
func TestInjectionCollision_TwoIstiosValuesTag(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "tenant-a-system")
	env.CreateNamespace(t, "tenant-b-system")

	a := tenantIstio("tenant-a", "tenant-a-system", "prod")
	g.Expect(c.Create(ctx, a)).To(Succeed())
	g.Eventually(webhookService(c, tagA), timeout).Should(Equal("istiod-tenant-a"))
	time.Sleep(1100 * time.Millisecond) // creation timestamps have one-second resolution: make tenant-b newer
	b := tenantIstio("tenant-b", "tenant-b-system", "prod", "qa")
	g.Expect(c.Create(ctx, b)).To(Succeed())
	istioB := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "tenant-b"}}

	t.Run("the newer Istio does not install the tag and names the older one", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(testenv.ConditionOf(c, istioB, sailv1.ConditionValueTagsInstalled), timeout).
			Should(Equal("False/" + sailv1.ReasonInjectionCollision))
		msg := conditionMessage(c, istioB, sailv1.ConditionValueTagsInstalled)
		g.Expect(msg).To(ContainSubstring("Istio tenant-a is older"))
		g.Expect(msg).To(ContainSubstring(`Remove "prod" from the spec.values.revisionTags`))
		g.Expect(msg).NotTo(ContainSubstring(`"qa"`), "only the colliding tag is reported")
		g.Eventually(webhookService(c, "istio-revision-tag-qa-tenant-b-system"), timeout).Should(Equal("istiod-tenant-b"),
			"the other tags of the values are installed")
		g.Eventually(webhookService(c, "istio-sidecar-injector-tenant-b-tenant-b-system"), timeout).Should(Equal("istiod-tenant-b"))
		g.Consistently(webhookService(c, tagB), 2*time.Second).Should(Equal("missing"))
		g.Expect(webhookOwner(c, tagA)()).To(Equal("IstioRevision/tenant-a"))
		g.Eventually(testenv.ConditionOf(c, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "tenant-a"}},
			sailv1.ConditionValueTagsInstalled), timeout).Should(HavePrefix("True/"), "the older claim keeps working")
	})

	t.Run("the newer Istio installs the tag once the older claim goes", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "tenant-a"}, a)).To(Succeed())
		patch := client.MergeFrom(a.DeepCopy())
		a.Spec.Values.RevisionTags = nil
		g.Expect(c.Patch(ctx, a, patch)).To(Succeed())
		g.Eventually(webhookService(c, tagB), timeout).Should(Equal("istiod-tenant-b"))
		g.Expect(webhookOwner(c, tagB)()).To(Equal("IstioRevision/tenant-b"))
		g.Eventually(webhookService(c, tagA), timeout).Should(Equal("missing"))
		g.Eventually(testenv.ConditionOf(c, istioB, sailv1.ConditionValueTagsInstalled), timeout).Should(HavePrefix("True/"))
	})
}
