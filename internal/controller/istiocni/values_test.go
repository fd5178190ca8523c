package istiocni

import (
	"testing"

	. "github.com/onsi/gomega"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

func version(t *testing.T, name string) versions.Version {
	v, err := versions.Default().Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ptr[T any](v T) *T { return &v }

func TestValues(t *testing.T) {
	v := version(t, "v1.31.0")

	t.Run("image defaults come from the versions list and only the cni and global sections are kept", func(t *testing.T) {
		g := NewWithT(t)
		m, err := Values(v, "", values.PlatformKubernetes, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m).To(Equal(values.Map{"global": values.Map{"hub": v.Hub, "tag": v.Tag}}))
	})

	t.Run("the ambient profile turns on ambient redirection", func(t *testing.T) {
		g := NewWithT(t)
		m, err := Values(v, "ambient", values.PlatformKubernetes, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["cni"]).To(HaveKeyWithValue("ambient", values.Map{"enabled": true}))
		g.Expect(m).NotTo(HaveKey("pilot"), "the profile's control plane settings are dropped")
		g.Expect(m).NotTo(HaveKey("meshConfig"))
	})

	t.Run("on OpenShift the default profile is OpenShift's: multus, not chained, and global.platform", func(t *testing.T) {
		g := NewWithT(t)
		m, err := Values(v, "", values.PlatformOpenShift, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["cni"]).To(HaveKeyWithValue("provider", "multus"))
		g.Expect(m["cni"]).To(HaveKeyWithValue("chained", false))
		g.Expect(m["global"]).To(HaveKeyWithValue("platform", "openshift"))
	})

	t.Run("the openshift-ambient profile applies both", func(t *testing.T) {
		g := NewWithT(t)
		m, err := Values(v, "openshift-ambient", values.PlatformKubernetes, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["cni"]).To(HaveKeyWithValue("provider", "multus"))
		g.Expect(m["cni"]).To(HaveKeyWithValue("ambient", values.Map{"enabled": true}))
		g.Expect(m["global"]).To(HaveKeyWithValue("platform", "openshift"))
	})

	t.Run("the user's values win over the profile and Sail's defaults", func(t *testing.T) {
		g := NewWithT(t)
		m, err := Values(v, "openshift", values.PlatformKubernetes, &sailv1.CNIValues{
			Cni:    &sailv1.CNIConfig{Chained: ptr(true), Provider: "default"},
			Global: &sailv1.GlobalConfig{Hub: "registry.example/istio", Platform: "gcp"},
		})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["cni"]).To(HaveKeyWithValue("chained", true))
		g.Expect(m["cni"]).To(HaveKeyWithValue("provider", "default"))
		g.Expect(m["global"]).To(HaveKeyWithValue("hub", "registry.example/istio"))
		g.Expect(m["global"]).To(HaveKeyWithValue("platform", "gcp"))
	})

	t.Run("an unknown profile is an error", func(t *testing.T) {
		g := NewWithT(t)
		_, err := Values(v, "nope", values.PlatformKubernetes, nil)
		g.Expect(err).To(MatchError(ContainSubstring("unknown")))
	})
}
