package ztunnel

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

// revision returns an IstioRevision whose values are computed from an Istio the way the Istio controller does.
func revision(t *testing.T, versionName, profile, name string, user *sailv1.Values) *sailv1.IstioRevision {
	v := version(t, versionName)
	vals, err := values.ForRevision(values.Input{Version: v, Profile: profile, User: user, Revision: name, Namespace: "istio-system"})
	if err != nil {
		t.Fatal(err)
	}
	return &sailv1.IstioRevision{Spec: sailv1.IstioRevisionSpec{Version: v.Name, Namespace: "istio-system", Values: vals}}
}

func TestInherited(t *testing.T) {
	list := versions.Default()

	t.Run("global, meshConfig and revision are inherited; Sail's image defaults are not", func(t *testing.T) {
		g := NewWithT(t)
		rev := revision(t, "v1.30.0", "ambient", "canary", &sailv1.Values{Global: &sailv1.GlobalConfig{Network: "net1"}})
		m, err := Inherited(rev, list)
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
		m, err := Inherited(rev, list)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["global"]).To(HaveKeyWithValue("hub", "registry.example/istio"))
		g.Expect(m).NotTo(HaveKey("revision"), "the default revision has no revision value")
	})
}

func TestValues(t *testing.T) {
	v := version(t, "v1.31.0")
	inherited := values.Map{"global": values.Map{"network": "net1", "istioNamespace": "istio-system", "variant": "distroless"},
		"revision": "canary"}

	t.Run("Sail's image defaults, then the inherited values", func(t *testing.T) {
		g := NewWithT(t)
		m, err := Values(v, values.PlatformKubernetes, inherited, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["global"]).To(Equal(values.Map{"hub": v.Hub, "tag": v.Tag, "network": "net1",
			"istioNamespace": "istio-system", "variant": "distroless"}))
		g.Expect(m).To(HaveKeyWithValue("revision", "canary"))
	})

	t.Run("the user's global and ztunnel values win, ztunnel values lifted to the top level", func(t *testing.T) {
		g := NewWithT(t)
		m, err := Values(v, values.PlatformKubernetes, inherited, &sailv1.ZTunnelValues{
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
		m, err := Values(v, values.PlatformOpenShift, nil, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m["global"]).To(HaveKeyWithValue("platform", "openshift"))
	})
}

func TestCheckVersion(t *testing.T) {
	g := NewWithT(t)
	g.Expect(checkVersion(versions.Version{Name: "v1.31.0"})).To(Succeed())
	g.Expect(checkVersion(versions.Version{Name: "v1.24.0"})).To(Succeed())
	g.Expect(checkVersion(versions.Version{Name: "v1.23.5"})).To(MatchError(ContainSubstring("v1.24.0 or newer")))
}
