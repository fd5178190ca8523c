package values

import (
	"encoding/json"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// TrustedNodeAccountsEnv is istiod's variable naming the node agents' identities it issues certificates for
// (namespace/serviceaccount), which the istiod chart builds from pilot.trustedZtunnelNamespace and
// pilot.trustedZtunnelName.
const TrustedNodeAccountsEnv = "CA_TRUSTED_NODE_ACCOUNTS"

// TrustZTunnel makes the merged values of a revision trust the ztunnel that runs as namespace/serviceAccount, so
// that its istiod issues certificates to it: Sail knows where the ZTunnel resource runs, while the chart would
// trust only a ztunnel in istiod's own namespace (or the one a profile names). The user's choice wins: nothing
// changes when user (the Istio's spec.values) sets pilot.trustedZtunnelNamespace, pilot.trustedZtunnelName or
// CA_TRUSTED_NODE_ACCOUNTS in pilot.env.
func TrustZTunnel(merged, user *sailv1.Values, namespace, serviceAccount string) {
	if merged == nil || namespace == "" || userSetsZTunnelTrust(user) {
		return
	}
	if merged.Pilot == nil {
		merged.Pilot = &sailv1.PilotConfig{}
	}
	merged.Pilot.TrustedZtunnelNamespace = namespace
	if serviceAccount != "" && serviceAccount != "ztunnel" {
		merged.Pilot.TrustedZtunnelName = serviceAccount
	}
}

// userSetsZTunnelTrust says whether the user's values choose which ztunnel istiod trusts.
func userSetsZTunnelTrust(user *sailv1.Values) bool {
	if user == nil || user.Pilot == nil {
		return false
	}
	p := user.Pilot
	if p.TrustedZtunnelNamespace != "" || p.TrustedZtunnelName != "" {
		return true
	}
	_, ok := PilotEnv(p)[TrustedNodeAccountsEnv]
	return ok
}

// PilotEnv returns the pilot.env values (istiod's extra environment), nil when there are none or they do not
// decode.
func PilotEnv(pilot *sailv1.PilotConfig) map[string]any {
	if pilot == nil || pilot.Env == nil || len(pilot.Env.Raw) == 0 {
		return nil
	}
	out := map[string]any{}
	if err := json.Unmarshal(pilot.Env.Raw, &out); err != nil {
		return nil
	}
	return out
}

// ZTunnelServiceAccount returns the ServiceAccount a ZTunnel's pods run as: values.ztunnel.resourceName, or
// ztunnel (the chart's default).
func ZTunnelServiceAccount(zt *sailv1.ZTunnel) string {
	if v := zt.Spec.Values; v != nil && v.Ztunnel != nil && v.Ztunnel.ResourceName != "" {
		return v.Ztunnel.ResourceName
	}
	return "ztunnel"
}
