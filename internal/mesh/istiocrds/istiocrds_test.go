package istiocrds

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

func TestCRDs_OfEveryIstioGroupAreLabelledAndVersioned(t *testing.T) {
	g := NewWithT(t)
	crds, err := crdsOf("v1.31.0")
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

// TestStubs_KeepTheMetadataApplyComparesAlone checks that the CRDs an Installer keeps between Ensures are the
// metadata of the parsed ones (name, labels, annotations with the hash), without their schemas.
func TestStubs_KeepTheMetadataApplyComparesAlone(t *testing.T) {
	g := NewWithT(t)
	crds, err := crdsOf("v1.31.0")
	g.Expect(err).NotTo(HaveOccurred())
	stubs, err := NewInstaller(nil, nil, nil).stubsOf("v1.31.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stubs).To(HaveLen(len(crds)))
	for n, s := range stubs {
		g.Expect(s.Object).To(HaveLen(3), "apiVersion, kind and metadata alone")
		g.Expect(s.GroupVersionKind()).To(Equal(crds[n].GroupVersionKind()))
		g.Expect(s.GetName()).To(Equal(crds[n].GetName()))
		g.Expect(s.GetLabels()).To(Equal(crds[n].GetLabels()))
		g.Expect(s.GetAnnotations()).To(Equal(crds[n].GetAnnotations()))
		g.Expect(s.GetAnnotations()).To(HaveKey(apply.AnnotationAppliedHash))
	}
}

func TestInstalledVersion_ReadsEveryInstallersMarkers(t *testing.T) {
	for _, tc := range []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		want        Installed
	}{
		{"none (kubectl apply of crd-all.gen.yaml)", map[string]string{"app": "istio-pilot", "chart": "istio"}, nil,
			Installed{Name: "x"}},
		{"Sail", nil, map[string]string{AnnotationIstioVersion: "v1.30.0"}, Installed{Name: "x", Version: "v1.30.0", By: BySail}},
		{"Helm", map[string]string{"app.kubernetes.io/version": "1.31.0", "helm.sh/chart": "base-1.31.0"}, nil,
			Installed{Name: "x", Version: "1.31.0", By: ByHelm}},
		{"Helm chart label only", map[string]string{"helm.sh/chart": "base-1.32.1"}, nil,
			Installed{Name: "x", Version: "1.32.1", By: ByHelm}},
		{"istioctl", map[string]string{"operator.istio.io/version": "1.29.2", "app.kubernetes.io/version": "1.29.2"}, nil,
			Installed{Name: "x", Version: "1.29.2", By: ByIstioctl}},
		{"Sail upgraded a Helm CRD: the newest counts", map[string]string{"app.kubernetes.io/version": "1.29.0"},
			map[string]string{AnnotationIstioVersion: "v1.31.0"}, Installed{Name: "x", Version: "v1.31.0", By: BySail}},
		{"Helm upgraded a Sail CRD: the newest counts", map[string]string{"app.kubernetes.io/version": "1.32.0"},
			map[string]string{AnnotationIstioVersion: "v1.31.0"}, Installed{Name: "x", Version: "1.32.0", By: ByHelm}},
		{"garbage is no version", map[string]string{"app.kubernetes.io/version": "latest", "helm.sh/chart": "base"}, nil,
			Installed{Name: "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			crd := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: tc.labels,
				Annotations: tc.annotations}}
			g.Expect(InstalledVersion(crd)).To(Equal(tc.want))
		})
	}
}

func TestResult_MessageNamesWhatWasKept(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Result{Version: "v1.30.0"}.Message()).To(Equal("Istio's CRDs are those of v1.30.0 or newer."))
	msg := Result{Version: "v1.30.0", Kept: []Installed{{Name: "a.istio.io", Version: "1.31.0", By: ByHelm}}}.Message()
	g.Expect(msg).To(ContainSubstring("1 of Istio's CRDs come from an Istio version newer than v1.30.0"))
	g.Expect(msg).To(ContainSubstring("never downgraded"))
	g.Expect(msg).To(HaveSuffix("a.istio.io (1.31.0, by Helm)."))
}
