package values

import (
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func TestTrustZTunnel(t *testing.T) {
	profileNS := func() *sailv1.Values {
		return &sailv1.Values{Pilot: &sailv1.PilotConfig{TrustedZtunnelNamespace: "kube-system"}}
	}
	cases := []struct {
		name, namespace, serviceAccount string
		user                            *sailv1.Values
		wantNS, wantName                string
	}{
		{name: "the ztunnel's namespace replaces the profile's guess", namespace: "ztunnel", serviceAccount: "ztunnel",
			wantNS: "ztunnel"},
		{name: "a ztunnel with its own service account name is trusted by that name", namespace: "ztunnel",
			serviceAccount: "zt", wantNS: "ztunnel", wantName: "zt"},
		{name: "the user's trusted namespace wins", namespace: "ztunnel", serviceAccount: "ztunnel",
			user: &sailv1.Values{Pilot: &sailv1.PilotConfig{TrustedZtunnelNamespace: "elsewhere"}}, wantNS: "kube-system"},
		{name: "the user's CA_TRUSTED_NODE_ACCOUNTS wins", namespace: "ztunnel", serviceAccount: "ztunnel",
			user:   &sailv1.Values{Pilot: &sailv1.PilotConfig{Env: &apiextensionsv1.JSON{Raw: []byte(`{"CA_TRUSTED_NODE_ACCOUNTS":"a/b"}`)}}},
			wantNS: "kube-system"},
		{name: "no ztunnel, no change", wantNS: "kube-system"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			merged := profileNS()
			TrustZTunnel(merged, tc.user, tc.namespace, tc.serviceAccount)
			g.Expect(merged.Pilot.TrustedZtunnelNamespace).To(Equal(tc.wantNS))
			g.Expect(merged.Pilot.TrustedZtunnelName).To(Equal(tc.wantName))
		})
	}
}
