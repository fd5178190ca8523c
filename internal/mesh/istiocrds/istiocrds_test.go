package istiocrds

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

func TestCRDs_OfEveryIstioGroupAreLabelledAndVersioned(t *testing.T) {
	g := NewWithT(t)
	crds, err := (&Installer{parsed: map[string][]*unstructured.Unstructured{}}).crds("v1.31.0")
	g.Expect(err).NotTo(HaveOccurred())
	groups := map[string]bool{}
	for _, c := range crds {
		g.Expect(c.GetKind()).To(Equal("CustomResourceDefinition"))
		g.Expect(c.GetLabels()).To(HaveKeyWithValue(apply.LabelManagedBy, apply.LabelManagedByValue))
		g.Expect(c.GetAnnotations()).To(HaveKeyWithValue(AnnotationIstioVersion, "v1.31.0"))
		g.Expect(c.GetAnnotations()).To(HaveKey(apply.AnnotationAppliedHash))
		group, _, _ := unstructured.NestedString(c.Object, "spec", "group")
		groups[group] = true
	}
	for _, want := range []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"} {
		g.Expect(groups).To(HaveKey(want))
	}
}
