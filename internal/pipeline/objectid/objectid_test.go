package objectid

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

func TestHash_IgnoresItsOwnAnnotation(t *testing.T) {
	g := NewWithT(t)
	a := obj("ConfigMap", "ns", "c")
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
	d := obj("Deployment", "ns", "d")
	d.SetAPIVersion("apps/v1")
	g.Expect(ID(d)).To(Equal("ns_d_apps_Deployment"))
	g.Expect(ID(obj("Namespace", "", "x"))).To(Equal("_x__Namespace"))
	g.Expect(IDs([]*unstructured.Unstructured{d, d}).UnsortedList()).To(ConsistOf("ns_d_apps_Deployment"))
}

func TestSetContentHash_RecordsTheHash(t *testing.T) {
	g := NewWithT(t)
	a := obj("ConfigMap", "ns", "c")
	h, _ := Hash(a)
	g.Expect(SetContentHash(a)).To(Succeed())
	g.Expect(a.GetAnnotations()).To(HaveKeyWithValue(AnnotationHash, h))
	g.Expect(Digest("a", "b")).NotTo(Equal(Digest("ab")), "parts are separated")
}
