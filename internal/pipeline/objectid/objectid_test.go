package objectid

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// obj returns an object of apiVersion/kind named ns/name.
func obj(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"namespace": ns, "name": name}}}
}

func TestHash_IgnoresItsOwnAnnotation(t *testing.T) {
	g := NewWithT(t)
	a := obj("v1", "ConfigMap", "ns", "c")
	h1, err := Hash(a)
	g.Expect(err).NotTo(HaveOccurred())
	a.SetAnnotations(map[string]string{AnnotationHash: "whatever"})
	h2, _ := Hash(a)
	g.Expect(h2).To(Equal(h1))
	a.SetLabels(map[string]string{"x": "y"})
	h3, _ := Hash(a)
	g.Expect(h3).NotTo(Equal(h1))
}

func TestID_NamesNamespaceNameGroupAndKind(t *testing.T) {
	g := NewWithT(t)
	d := obj("apps/v1", "Deployment", "ns", "d")
	g.Expect(ID(d)).To(Equal("ns_d_apps_Deployment"))
	g.Expect(ID(obj("v1", "Namespace", "", "x"))).To(Equal("_x__Namespace"))
	g.Expect(IDs([]*unstructured.Unstructured{d, d}).UnsortedList()).To(ConsistOf("ns_d_apps_Deployment"))
}

func TestSetContentHash_RecordsTheHash(t *testing.T) {
	g := NewWithT(t)
	a := obj("v1", "ConfigMap", "ns", "c")
	h, _ := Hash(a)
	g.Expect(SetContentHash(a)).To(Succeed())
	g.Expect(a.GetAnnotations()).To(HaveKeyWithValue(AnnotationHash, h))
	g.Expect(Digest("a", "b")).NotTo(Equal(Digest("ab")), "parts are separated")
}
