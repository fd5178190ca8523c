package apply

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func TestStages_OrdersDependenciesFirstAndWebhooksLast(t *testing.T) {
	g := NewWithT(t)
	stages := Stages([]*unstructured.Unstructured{
		obj("ValidatingWebhookConfiguration", "", "v"), obj("Deployment", "ns", "d"), obj("RoleBinding", "ns", "rb"),
		obj("ServiceAccount", "ns", "sa"), obj("CustomResourceDefinition", "", "crd"),
	})
	var kinds [][]string
	for _, s := range stages {
		var ks []string
		for _, u := range s {
			ks = append(ks, u.GetKind())
		}
		kinds = append(kinds, ks)
	}
	g.Expect(kinds).To(Equal([][]string{{"CustomResourceDefinition"}, {"ServiceAccount", "Deployment"}, {"RoleBinding"}, {"ValidatingWebhookConfiguration"}}))
}

func TestStripRuntimeFields(t *testing.T) {
	g := NewWithT(t)
	vwc := obj("ValidatingWebhookConfiguration", "", "v")
	vwc.Object["webhooks"] = []any{map[string]any{"name": "w", "failurePolicy": "Ignore", "clientConfig": map[string]any{"caBundle": "", "service": map[string]any{"name": "istiod"}}}}
	StripRuntimeFields(vwc)
	g.Expect(vwc.Object["webhooks"]).To(Equal([]any{map[string]any{"name": "w", "failurePolicy": "Ignore", "clientConfig": map[string]any{"service": map[string]any{"name": "istiod"}}}}),
		"the empty CA bundle is istiod's; the failure policy is the chart's until the webhook exists")

	mwc := obj("MutatingWebhookConfiguration", "", "m")
	mwc.Object["webhooks"] = []any{map[string]any{"name": "w", "failurePolicy": "Fail", "clientConfig": map[string]any{"caBundle": "user-ca"}}}
	StripRuntimeFields(mwc)
	g.Expect(mwc.Object["webhooks"]).To(Equal([]any{map[string]any{"name": "w", "failurePolicy": "Fail", "clientConfig": map[string]any{"caBundle": "user-ca"}}}),
		"a CA bundle the user set (remote control planes) is applied")
}

func TestInventory_DiffAndUnion(t *testing.T) {
	g := NewWithT(t)
	old := Inventory([]*unstructured.Unstructured{obj("ConfigMap", "ns", "a"), obj("ConfigMap", "ns", "b")})
	cur := Inventory([]*unstructured.Unstructured{obj("ConfigMap", "ns", "b"), obj("Service", "ns", "c")})
	g.Expect(Diff(old, cur)).To(Equal([]Entry{{ID: "ns_a__ConfigMap", Version: "v1"}}))
	g.Expect(Union(old, cur)).To(HaveLen(3))
	u, err := EntryObject(Entry{ID: "ns_a_apps_Deployment", Version: "v1"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(u.GetAPIVersion()).To(Equal("apps/v1"))
	g.Expect(u.GetNamespace() + "/" + u.GetName()).To(Equal("ns/a"))
	_, err = EntryObject(Entry{ID: "bad"})
	g.Expect(err).To(HaveOccurred())
}
