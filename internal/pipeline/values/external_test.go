package values

import (
	"encoding/json"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	. "github.com/onsi/gomega"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func boolPtr(b bool) *bool { return &b }

func TestForRevision_ExternalIstiod(t *testing.T) {
	v := mustVersion(t, "v1.31.0")
	t.Run("no webhooks in the external cluster, and the local mesh and injector ConfigMaps mounted", func(t *testing.T) {
		g := NewWithT(t)
		userVolume, _ := json.Marshal(Map{"name": "extra", "emptyDir": Map{}})
		out, err := ForRevision(Input{Version: v, Revision: "canary", Namespace: "external-istiod",
			User: &sailv1.Values{Global: &sailv1.GlobalConfig{ExternalIstiod: boolPtr(true)},
				Pilot: &sailv1.PilotConfig{Volumes: []apiextensionsv1.JSON{{Raw: userVolume}}}}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(*out.Global.OperatorManageWebhooks).To(BeTrue())
		g.Expect(*out.Global.ConfigValidation).To(BeFalse())
		g.Expect(rawNames(out.Pilot.Volumes)).To(Equal([]string{
			`{"emptyDir":{},"name":"extra"}`,
			`{"configMap":{"name":"istio-canary"},"name":"config-volume"}`,
			`{"configMap":{"name":"istio-sidecar-injector-canary"},"name":"inject-volume"}`}))
		g.Expect(rawNames(out.Pilot.VolumeMounts)).To(Equal([]string{
			`{"mountPath":"/etc/istio/config","name":"config-volume","readOnly":true}`,
			`{"mountPath":"/var/lib/istio/inject","name":"inject-volume","readOnly":true}`}))
	})
	t.Run("a volume the user named the same is kept", func(t *testing.T) {
		g := NewWithT(t)
		own, _ := json.Marshal(Map{"name": "config-volume", "configMap": Map{"name": "my-mesh"}})
		out, err := ForRevision(Input{Version: v, Revision: "default", Namespace: "external-istiod",
			User: &sailv1.Values{Global: &sailv1.GlobalConfig{ExternalIstiod: boolPtr(true)},
				Pilot: &sailv1.PilotConfig{Volumes: []apiextensionsv1.JSON{{Raw: own}}}}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(rawNames(out.Pilot.Volumes)).To(Equal([]string{
			`{"configMap":{"name":"my-mesh"},"name":"config-volume"}`,
			`{"configMap":{"name":"istio-sidecar-injector"},"name":"inject-volume"}`}))
	})
	t.Run("other revisions are left alone", func(t *testing.T) {
		g := NewWithT(t)
		out, err := ForRevision(Input{Version: v, Revision: "default", Namespace: "istio-system"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out.Global.OperatorManageWebhooks).To(BeNil())
		g.Expect(out.Pilot).To(Or(BeNil(), HaveField("Volumes", BeEmpty())))
	})
}

func TestForRevision_InconsistentExternalValues(t *testing.T) {
	v := mustVersion(t, "v1.31.0")
	injection := &sailv1.IstiodRemoteConfig{InjectionURL: "https://10.0.0.9:15017/inject/cluster/b/net/n"}
	cases := []struct {
		name    string
		profile string
		values  *sailv1.Values
		want    string
	}{
		{"externalIstiod with the remote profile", "remote", &sailv1.Values{IstiodRemote: injection,
			Global: &sailv1.GlobalConfig{ExternalIstiod: boolPtr(true), ConfigCluster: boolPtr(true)}},
			"the remote profile (istiodRemote.enabled) installs none"},
		{"configCluster without the remote profile", "", &sailv1.Values{
			Global: &sailv1.GlobalConfig{ConfigCluster: boolPtr(true)}}, "set spec.profile: remote"},
		{"a config cluster whose webhook calls nothing", "remote", &sailv1.Values{
			Global: &sailv1.GlobalConfig{ConfigCluster: boolPtr(true)}}, "set values.istiodRemote.injectionURL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := ForRevision(Input{Version: v, Profile: tc.profile, Revision: "default",
				Namespace: "external-istiod", User: tc.values})
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			g.Expect(err).To(MatchError(ContainSubstring("inconsistent external control plane values")))
		})
	}
	t.Run("a consistent config cluster is accepted", func(t *testing.T) {
		g := NewWithT(t)
		_, err := ForRevision(Input{Version: v, Profile: "remote", Revision: "default", Namespace: "external-istiod",
			User: &sailv1.Values{IstiodRemote: injection, Global: &sailv1.GlobalConfig{ConfigCluster: boolPtr(true)}}})
		g.Expect(err).NotTo(HaveOccurred())
	})
}

// rawNames returns the JSON of each item.
func rawNames(items []apiextensionsv1.JSON) []string {
	out := make([]string, 0, len(items))
	for _, i := range items {
		out = append(out, string(i.Raw))
	}
	return out
}
