package render

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/sail-mesh/sail/internal/pipeline/objectid"
)

func istiodInput(vals map[string]any) Input {
	return Input{Version: "v1.31.0", Chart: "istiod", Release: "default", Namespace: "istio-system", Values: vals}
}

func TestRender_Istiod(t *testing.T) {
	g := NewWithT(t)
	r := New(nil)
	objs, err := r.Render(istiodInput(map[string]any{"global": map[string]any{"istioNamespace": "istio-system"}}))
	g.Expect(err).NotTo(HaveOccurred())
	ids := map[string]bool{}
	for _, o := range objs {
		ids[objectid.ID(o)] = true
		g.Expect(o.GetLabels()).NotTo(HaveKeyWithValue("app.kubernetes.io/managed-by", "Helm"))
	}
	g.Expect(ids).To(HaveKey("istio-system_istiod_apps_Deployment"))
	g.Expect(ids).To(HaveKey("_istio-sidecar-injector_admissionregistration.k8s.io_MutatingWebhookConfiguration"))
}

func TestRender_CachesByInput(t *testing.T) {
	g := NewWithT(t)
	r := New(nil)
	in := istiodInput(map[string]any{"replicaCount": 2.0})
	first, err := r.Render(in)
	g.Expect(err).NotTo(HaveOccurred())
	first[0].SetName("modified-by-caller")
	second, err := r.Render(istiodInput(map[string]any{"replicaCount": 2.0}))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(second[0].GetName()).NotTo(Equal("modified-by-caller"), "callers get their own copies")
	g.Expect(r.Stats()).To(Equal(Stats{Renders: 1, CacheHits: 1}))

	_, err = r.Render(istiodInput(map[string]any{"replicaCount": 3.0}))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.Stats().Renders).To(Equal(int64(2)), "different values render again")
}

func TestRender_ErrorNamesTheTemplate(t *testing.T) {
	g := NewWithT(t)
	_, err := New(nil).Render(istiodInput(map[string]any{"profile": "no-such-profile"}))
	g.Expect(err).To(MatchError(ContainSubstring("no-such-profile")))
	g.Expect(err).To(MatchError(ContainSubstring("istiod")))
}

func TestRender_MissingVersion(t *testing.T) {
	g := NewWithT(t)
	_, err := New(nil).Render(Input{Version: "v0.0.1", Chart: "istiod"})
	g.Expect(err).To(MatchError(ContainSubstring("make resources")))
}

func BenchmarkRender_BaseChartCold(b *testing.B) {
	for b.Loop() {
		r := New(nil)
		if _, err := r.Render(Input{Version: "v1.31.0", Chart: "base", Release: "base", Namespace: "istio-system"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender_BaseChartCached(b *testing.B) {
	r := New(nil)
	in := Input{Version: "v1.31.0", Chart: "base", Release: "base", Namespace: "istio-system"}
	if _, err := r.Render(in); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}
