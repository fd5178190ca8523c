package values_test

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

func TestForCNIChart(t *testing.T) {
	v := version(t, "v1.31.0")

	t.Run("image defaults come from the versions list and only the cni and global sections are kept", func(t *testing.T) {
		g := NewWithT(t)
		m, err := values.ForCNIChart(v, "", values.PlatformKubernetes, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m).To(Equal(values.Map{"global": values.Map{"hub": v.Hub, "tag": v.Tag}}))
	})

	t.Run("the ambient profile turns on ambient redirection", func(t *testing.T) {
		g := NewWithT(t)
		m, err := values.ForCNIChart(v, "ambient", values.PlatformKubernetes, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["cni"]).To(HaveKeyWithValue("ambient", values.Map{"enabled": true}))
		g.Expect(m).NotTo(HaveKey("pilot"), "the profile's control plane settings are dropped")
		g.Expect(m).NotTo(HaveKey("meshConfig"))
	})

	t.Run("on OpenShift the default profile is OpenShift's: multus, not chained, and global.platform", func(t *testing.T) {
		g := NewWithT(t)
		m, err := values.ForCNIChart(v, "", values.PlatformOpenShift, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["cni"]).To(HaveKeyWithValue("provider", "multus"))
		g.Expect(m["cni"]).To(HaveKeyWithValue("chained", false))
		g.Expect(m["global"]).To(HaveKeyWithValue("platform", "openshift"))
	})

	t.Run("the openshift-ambient profile applies both", func(t *testing.T) {
		g := NewWithT(t)
		m, err := values.ForCNIChart(v, "openshift-ambient", values.PlatformKubernetes, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["cni"]).To(HaveKeyWithValue("provider", "multus"))
		g.Expect(m["cni"]).To(HaveKeyWithValue("ambient", values.Map{"enabled": true}))
		g.Expect(m["global"]).To(HaveKeyWithValue("platform", "openshift"))
	})

	t.Run("the user's values win over the profile and Sail's defaults", func(t *testing.T) {
		g := NewWithT(t)
		m, err := values.ForCNIChart(v, "openshift", values.PlatformKubernetes, &sailv1.CNIValues{
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
		_, err := values.ForCNIChart(v, "nope", values.PlatformKubernetes, nil)
		g.Expect(err).To(MatchError(ContainSubstring("unknown")))
	})
}

// revision returns an IstioRevision whose values are computed from an Istio the way the Istio controller does.
func revision(t *testing.T, versionName, profile, name string, user *sailv1.Values) *sailv1.IstioRevision {
	v := version(t, versionName)
	vals, err := values.ForRevision(values.Input{Version: v, Profile: profile, User: user, Revision: name, Namespace: "istio-system"})
	if err != nil {
		t.Fatal(err)
	}
	return &sailv1.IstioRevision{Spec: sailv1.IstioRevisionSpec{Version: v.Name, Namespace: "istio-system", Values: vals}}
}

func TestInheritedByZTunnel(t *testing.T) {
	list := versions.Default()

	t.Run("global, meshConfig and revision are inherited; Sail's image defaults are not", func(t *testing.T) {
		g := NewWithT(t)
		rev := revision(t, "v1.30.0", "ambient", "canary", &sailv1.Values{Global: &sailv1.GlobalConfig{Network: "net1"}})
		m, err := values.InheritedByZTunnel(rev, list)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m).To(HaveKeyWithValue("revision", "canary"))
		g.Expect(m["global"]).To(HaveKeyWithValue("network", "net1"))
		g.Expect(m["global"]).To(HaveKeyWithValue("istioNamespace", "istio-system"))
		g.Expect(m["global"]).NotTo(HaveKey("hub"))
		g.Expect(m["global"]).NotTo(HaveKey("tag"))
		g.Expect(m).To(HaveKey("meshConfig"))
		g.Expect(m).NotTo(HaveKey("pilot"))
	})

	t.Run("a hub the user chose on the Istio is inherited", func(t *testing.T) {
		g := NewWithT(t)
		rev := revision(t, "v1.31.0", "", "default", &sailv1.Values{Global: &sailv1.GlobalConfig{Hub: "registry.example/istio"}})
		m, err := values.InheritedByZTunnel(rev, list)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["global"]).To(HaveKeyWithValue("hub", "registry.example/istio"))
		g.Expect(m).NotTo(HaveKey("revision"), "the default revision has no revision value")
	})
}

func TestForZTunnelChart(t *testing.T) {
	v := version(t, "v1.31.0")
	inherited := values.Map{"global": values.Map{"network": "net1", "istioNamespace": "istio-system", "variant": "distroless"},
		"revision": "canary"}

	t.Run("Sail's image defaults, then the inherited values", func(t *testing.T) {
		g := NewWithT(t)
		m, err := values.ForZTunnelChart(v, values.PlatformKubernetes, inherited, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["global"]).To(Equal(values.Map{"hub": v.Hub, "tag": v.Tag, "network": "net1",
			"istioNamespace": "istio-system", "variant": "distroless"}))
		g.Expect(m).To(HaveKeyWithValue("revision", "canary"))
	})

	t.Run("the user's global and ztunnel values win, ztunnel values lifted to the top level", func(t *testing.T) {
		g := NewWithT(t)
		m, err := values.ForZTunnelChart(v, values.PlatformKubernetes, inherited, &sailv1.ZTunnelValues{
			Global:  &sailv1.GlobalConfig{Network: "net2"},
			Ztunnel: &sailv1.ZTunnelConfig{Network: "net3", Revision: "other", Env: map[string]string{"A": "b"}},
		})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["global"]).To(HaveKeyWithValue("network", "net2"))
		g.Expect(m).To(HaveKeyWithValue("network", "net3"))
		g.Expect(m).To(HaveKeyWithValue("revision", "other"))
		g.Expect(m).To(HaveKeyWithValue("env", values.Map{"A": "b"}))
		g.Expect(m).NotTo(HaveKey("ztunnel"))
	})

	t.Run("on OpenShift global.platform is set", func(t *testing.T) {
		g := NewWithT(t)
		m, err := values.ForZTunnelChart(v, values.PlatformOpenShift, nil, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["global"]).To(HaveKeyWithValue("platform", "openshift"))
	})
}
