package values

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

func TestForRevision_PlatformProfilesNameThePlatform(t *testing.T) {
	v := mustVersion(t, "v1.31.0")
	cases := []struct {
		name     string
		in       Input
		platform string
	}{
		{"the openshift profile sets global.platform, as a Helm user selects it",
			Input{Profile: "openshift"}, "openshift"},
		{"so does openshift-ambient", Input{Profile: "openshift-ambient"}, "openshift"},
		{"and the default profile on OpenShift", Input{Platform: PlatformOpenShift}, "openshift"},
		{"other profiles leave it unset", Input{Profile: "ambient", Platform: PlatformOpenShift}, ""},
		{"the user's platform wins", Input{Profile: "openshift",
			User: &sailv1.Values{Global: &sailv1.GlobalConfig{Platform: "gke"}}}, "gke"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			tc.in.Version, tc.in.Revision, tc.in.Namespace = v, "default", "istio-system"
			out, err := ForRevision(tc.in)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(out.Global.Platform).To(Equal(tc.platform))
		})
	}
}

func TestForRevision_ProfileSettingsOfIstiodAtTheTopLevelLandUnderPilot(t *testing.T) {
	g := NewWithT(t)
	for _, v := range versions.Default().Versions {
		out, err := ForRevision(Input{Version: v, Profile: "openshift", Revision: "default", Namespace: "istio-system"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out.Pilot.TrustedZtunnelNamespace).To(Equal("kube-system"), v.Name)

		out, err = ForRevision(Input{Version: v, Profile: "remote", Revision: "default", Namespace: "istio-system"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out.Pilot).NotTo(BeNil(), v.Name)
		g.Expect(out.Pilot.ConfigMap).To(HaveValue(BeFalse()), "the remote profile's configMap: false, %s", v.Name)
	}
	g.Expect(placeTopLevelKeys(Map{"configMap": false, "pilot": Map{"configMap": true}, "global": Map{}})).To(Equal(
		Map{"pilot": Map{"configMap": true}, "global": Map{}}), "the profile's own pilot setting wins, as in the chart")
}

// TestForRevision_KeepsEveryProfileSetting checks, for every profile of every supported version, that each setting
// of the profile's files reaches the revision's values with its value: at its place, or under pilot for a
// top-level setting that Istio's values schema keeps there.
func TestForRevision_KeepsEveryProfileSetting(t *testing.T) {
	for _, v := range versions.Default().Versions {
		for _, p := range Profiles() {
			t.Run(v.Name+"/"+p, func(t *testing.T) {
				g := NewWithT(t)
				out, err := ForRevision(Input{Version: v, Profile: p, Revision: "default", Namespace: "istio-system"})
				g.Expect(err).NotTo(HaveOccurred())
				got, err := ToMap(out)
				g.Expect(err).NotTo(HaveOccurred())
				for _, s := range rawProfileSettings(t, v.Name, p) {
					path := s.path
					if !topLevelFields[path[0]] {
						path = append([]string{"pilot"}, path...)
					}
					g.Expect(lookup(got, path)).To(Equal(s.value), "%v of profile %s", s.path, p)
				}
			})
		}
	}
}

// setting is a leaf (a scalar or a list) of a values tree.
type setting struct {
	path  []string
	value any
}

// rawProfileSettings returns the settings of a Sail profile's files as Istio wrote them, merged in order.
func rawProfileSettings(t *testing.T, version, profile string) []setting {
	t.Helper()
	merged := Map{}
	for _, f := range profileFiles[profile] {
		data, ok, err := versions.ProfileFile(version, f)
		if err != nil || !ok {
			t.Fatalf("profile file %s of %s: ok=%v, %v", f, version, ok, err)
		}
		var m Map
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		merged = Merge(merged, m)
	}
	return leaves(merged, nil)
}

func leaves(m Map, prefix []string) []setting {
	var out []setting
	for k, v := range m {
		path := append(append([]string{}, prefix...), k)
		if sub, ok := v.(Map); ok && len(sub) > 0 {
			out = append(out, leaves(sub, path)...)
			continue
		}
		out = append(out, setting{path, v})
	}
	return out
}

func lookup(m Map, path []string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(Map)
		if !ok {
			return fmt.Sprintf("<nothing at %v>", path)
		}
		if v, ok = mm[k]; !ok {
			return fmt.Sprintf("<nothing at %v>", path)
		}
	}
	return v
}
