package values

import (
	"testing"

	. "github.com/onsi/gomega"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

func TestMerge(t *testing.T) {
	cases := []struct {
		name       string
		base, over Map
		want       Map
	}{
		{"maps merge key by key", Map{"a": Map{"x": 1.0, "y": 2.0}}, Map{"a": Map{"y": 3.0}}, Map{"a": Map{"x": 1.0, "y": 3.0}}},
		{"scalars replace", Map{"a": "one"}, Map{"a": "two"}, Map{"a": "two"}},
		{"lists replace, not append", Map{"a": []any{1.0, 2.0}}, Map{"a": []any{3.0}}, Map{"a": []any{3.0}}},
		{"a map replaces a scalar", Map{"a": "x"}, Map{"a": Map{"b": true}}, Map{"a": Map{"b": true}}},
		{"keys only in base stay", Map{"a": 1.0}, Map{"b": 2.0}, Map{"a": 1.0, "b": 2.0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(Merge(tc.base, tc.over)).To(Equal(tc.want))
		})
	}
}

func TestMerge_DoesNotModifyArguments(t *testing.T) {
	g := NewWithT(t)
	base := Map{"a": Map{"x": 1.0}}
	Merge(base, Map{"a": Map{"x": 2.0}})
	g.Expect(base).To(Equal(Map{"a": Map{"x": 1.0}}))
}

func mustVersion(t *testing.T, name string) versions.Version {
	v, err := versions.Default().Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestForRevision(t *testing.T) {
	v := mustVersion(t, "v1.31.0")
	t.Run("image defaults come from the versions list and the user can override them", func(t *testing.T) {
		g := NewWithT(t)
		out, err := ForRevision(Input{Version: v, Revision: "default", Namespace: "istio-system"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out.Global.Hub).To(Equal(v.Hub))
		g.Expect(out.Global.IstioNamespace).To(Equal("istio-system"))
		g.Expect(out.Revision).To(BeEmpty(), "the default revision has an empty revision value")

		out, err = ForRevision(Input{Version: v, Revision: "canary", Namespace: "istio-system",
			User: &sailv1.Values{Global: &sailv1.GlobalConfig{Hub: "registry.example/istio"}}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out.Global.Hub).To(Equal("registry.example/istio"))
		g.Expect(out.Revision).To(Equal("canary"))
	})
	t.Run("the operator's overrides win over the user's values", func(t *testing.T) {
		g := NewWithT(t)
		out, err := ForRevision(Input{Version: v, Revision: "a", Namespace: "mesh",
			User: &sailv1.Values{Revision: "b", Global: &sailv1.GlobalConfig{IstioNamespace: "other"}}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out.Revision).To(Equal("a"))
		g.Expect(out.Global.IstioNamespace).To(Equal("mesh"))
	})
	t.Run("a profile applies under the user's values", func(t *testing.T) {
		g := NewWithT(t)
		out, err := ForRevision(Input{Version: v, Profile: "ambient", Revision: "default", Namespace: "istio-system"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out.Global.Variant).To(Equal("distroless"))
		g.Expect(string(out.Pilot.Env.Raw)).To(ContainSubstring("PILOT_ENABLE_AMBIENT"))

		out, err = ForRevision(Input{Version: v, Profile: "ambient", Revision: "default", Namespace: "istio-system",
			User: &sailv1.Values{Global: &sailv1.GlobalConfig{Variant: "debug"}}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out.Global.Variant).To(Equal("debug"))

		// Profiles are parsed once and cached: a user's value must not leak into the next revision's values.
		out, err = ForRevision(Input{Version: v, Profile: "ambient", Revision: "default", Namespace: "istio-system"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out.Global.Variant).To(Equal("distroless"))
	})
	t.Run("OpenShift gets its platform profile by default", func(t *testing.T) {
		g := NewWithT(t)
		out, err := ForRevision(Input{Version: v, Platform: PlatformOpenShift, Revision: "default", Namespace: "istio-system"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out.Pilot.Cni).NotTo(BeNil())
		g.Expect(*out.Pilot.Cni.Enabled).To(BeTrue())
	})
	t.Run("an unknown profile is refused with the list of profiles", func(t *testing.T) {
		g := NewWithT(t)
		_, err := ForRevision(Input{Version: v, Profile: "nope", Revision: "default", Namespace: "istio-system"})
		g.Expect(err).To(MatchError(ContainSubstring("ambient")))
	})
}

func TestForIstiodChart(t *testing.T) {
	g := NewWithT(t)
	out := ForIstiodChart(Map{"pilot": Map{"replicaCount": 2.0}, "replicaCount": 1.0, "global": Map{}})
	g.Expect(out["replicaCount"]).To(Equal(2.0))
	g.Expect(out["global"]).To(Equal(Map{}))
}

func TestForBaseAndTagCharts(t *testing.T) {
	g := NewWithT(t)
	vals := Map{"pilot": Map{"replicaCount": 2.0}, "global": Map{"hub": "h"}}
	g.Expect(ForBaseChart(vals)).To(HaveKeyWithValue("defaultRevision", "default"))
	tagVals := ForTagIstiodChart(vals, "prod")
	g.Expect(tagVals).To(HaveKeyWithValue("revisionTags", []any{"prod"}))
	g.Expect(tagVals).To(HaveKeyWithValue("replicaCount", 2.0), "the pilot section is lifted as for the revision")
	base := ForDefaultTagBaseChart(vals, "canary", "istio-canary")
	g.Expect(base).To(HaveKeyWithValue("defaultRevision", "canary"))
	g.Expect(base["global"]).To(Equal(Map{"hub": "h", "istioNamespace": "istio-canary"}))
	g.Expect(vals).NotTo(HaveKey("defaultRevision"), "the revision's values are not modified")
}
