package revisiontag

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/mesh/revisiontags"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

func testRevision(name, ns string) *sailv1.IstioRevision {
	rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: sailv1.IstioRevisionSpec{Version: versions.Default().Newest().Name, Namespace: ns}}
	if name != sailv1.DefaultRevision {
		rev.Spec.Values = &sailv1.Values{Revision: name}
	}
	return rev
}

func renderTag(t *testing.T, tagName string, rev *sailv1.IstioRevision) []*unstructured.Unstructured {
	t.Helper()
	r := &Reconciler{Deps: lifecycle.Deps{Renderer: render.New(nil)}}
	tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: tagName}}
	objs, err := r.Render(tag, rev)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func names(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, u := range objs {
		out = append(out, u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName())
	}
	return out
}

func TestRender_KeepsOnlyTheTagsWebhookAndService(t *testing.T) {
	g := NewWithT(t)
	objs := renderTag(t, "prod", testRevision("canary", "istio-system"))
	g.Expect(names(objs)).To(ConsistOf("MutatingWebhookConfiguration//istio-revision-tag-prod", "Service/istio-system/istiod-revision-tag-prod"))
	for _, u := range objs {
		if u.GetKind() != "MutatingWebhookConfiguration" {
			continue
		}
		hooks, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
		g.Expect(hooks).To(HaveLen(2), "a tag other than default has the namespace and object webhooks only")
		svc, _, _ := unstructured.NestedString(hooks[0].(map[string]any), "clientConfig", "service", "name")
		g.Expect(svc).To(Equal("istiod-canary"), "the webhook calls the revision's istiod")
		sel, _, _ := unstructured.NestedSlice(hooks[0].(map[string]any), "namespaceSelector", "matchExpressions")
		g.Expect(sel).To(ContainElement(HaveKeyWithValue("values", ContainElement("prod"))))
	}
}

func TestRender_TheDefaultTagAlsoServesInjectionEnabledAndValidation(t *testing.T) {
	g := NewWithT(t)
	objs := renderTag(t, "default", testRevision("canary", "istio-system"))
	g.Expect(names(objs)).To(ConsistOf("MutatingWebhookConfiguration//istio-revision-tag-default",
		"Service/istio-system/istiod-revision-tag-default", "ValidatingWebhookConfiguration//istiod-default-validator"))
	for _, u := range objs {
		hooks, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
		switch u.GetKind() {
		case "MutatingWebhookConfiguration":
			g.Expect(len(hooks)).To(BeNumerically(">=", 4), "namespace. and object. webhooks for istio-injection=enabled")
		case "ValidatingWebhookConfiguration":
			svc, _, _ := unstructured.NestedString(hooks[0].(map[string]any), "clientConfig", "service", "name")
			ns, _, _ := unstructured.NestedString(hooks[0].(map[string]any), "clientConfig", "service", "namespace")
			g.Expect(svc + "." + ns).To(Equal("istiod-canary.istio-system"))
		}
	}
}

func TestRender_AnotherNamespaceSuffixesTheWebhookName(t *testing.T) {
	g := NewWithT(t)
	objs := renderTag(t, "prod", testRevision("canary", "mesh-a"))
	g.Expect(names(objs)).To(ConsistOf("MutatingWebhookConfiguration//istio-revision-tag-prod-mesh-a", "Service/mesh-a/istiod-revision-tag-prod"))
}

func TestSelectTagObjects_IgnoresOtherTagsAndKinds(t *testing.T) {
	g := NewWithT(t)
	obj := func(kind, name, tag string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetKind(kind)
		u.SetName(name)
		if tag != "" {
			u.SetLabels(map[string]string{LabelTag: tag})
		}
		return u
	}
	in := []*unstructured.Unstructured{obj("Service", "istiod", ""), obj("Service", "a", "prod"), obj("Service", "b", "dev"),
		obj("ConfigMap", "c", "prod"), obj("MutatingWebhookConfiguration", "d", "prod")}
	g.Expect(names(SelectTagObjects(in, "prod"))).To(Equal([]string{"Service//a", "MutatingWebhookConfiguration//d"}))
}

func TestState(t *testing.T) {
	g := NewWithT(t)
	g.Expect(State(nil)).To(Equal(sailv1.StatePending))
	g.Expect(State([]metav1.Condition{{Type: sailv1.ConditionReconciled, Status: metav1.ConditionTrue}})).To(Equal(sailv1.StateHealthy))
	g.Expect(State([]metav1.Condition{{Type: sailv1.ConditionReconciled, Status: metav1.ConditionFalse}})).To(Equal(sailv1.StateReconcileError))
}

func TestAffected(t *testing.T) {
	g := NewWithT(t)
	tag := func(name, kind, target, rev string) sailv1.IstioRevisionTag {
		return sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:   sailv1.IstioRevisionTagSpec{TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: kind, Name: target}},
			Status: sailv1.IstioRevisionTagStatus{IstioRevision: rev}}
	}
	tags := []sailv1.IstioRevisionTag{
		tag("a", sailv1.IstioKind, "default", "default-v1-31-0"),
		tag("b", sailv1.IstioRevisionKind, "canary", "canary"),
		tag("canary2", sailv1.IstioKind, "other", ""),
		tag("default", sailv1.IstioKind, "default", ""),
	}
	req := func(names ...string) []reconcile.Request {
		var out []reconcile.Request
		for _, n := range names {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Name: n}})
		}
		return out
	}
	g.Expect(Affected(tags, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}})).To(Equal(req("a", "default")),
		"tags that target an Istio")
	g.Expect(Affected(tags, &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "canary"}})).To(Equal(req("b")),
		"tags that target a revision")
	g.Expect(Affected(tags, &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "default-v1-31-0"}})).To(Equal(req("a")),
		"tags that point at a revision through an Istio")
	g.Expect(Affected(tags, &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "canary2"}})).To(Equal(req("canary2")),
		"the tag that shares a revision's name")
}

func TestRevisionWins_TheOlderResourceWinsAndTheRevisionATie(t *testing.T) {
	g := NewWithT(t)
	now := time.Now()
	at := func(d time.Duration) *metav1.ObjectMeta {
		return &metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(now.Add(d))}
	}
	g.Expect(revisiontags.RevisionWins(at(0), at(time.Second))).To(BeTrue())
	g.Expect(revisiontags.RevisionWins(at(time.Second), at(0))).To(BeFalse())
	g.Expect(revisiontags.RevisionWins(at(0), at(0))).To(BeTrue())
}
