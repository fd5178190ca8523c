package values

import (
	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// ForCNIChart returns the Helm values the cni chart is rendered with: Sail's image defaults for the version, then the
// profile (the platform's when none is chosen), then the user's values, keeping the chart's two sections, cni and
// global (the chart copies cni.* to the top level itself). On OpenShift global.platform is set unless the user set
// it, so that the chart applies its OpenShift settings that live outside those sections (SELinux type, the
// privileged SecurityContextConstraints).
func ForCNIChart(version versions.Version, profile string, platform Platform, user *sailv1.CNIValues) (Map, error) {
	in := &sailv1.Values{}
	istioNamespace := ""
	if user != nil {
		in.Cni, in.Global = user.Cni, user.Global
		if user.Global != nil {
			istioNamespace = user.Global.IstioNamespace
		}
	}
	merged, err := ForRevision(Input{Version: version, Profile: profile, Platform: platform, User: in,
		Revision: sailv1.DefaultRevision, Namespace: istioNamespace})
	if err != nil {
		return nil, err
	}
	m, err := ToMap(&sailv1.Values{Cni: merged.Cni, Global: merged.Global})
	if err != nil {
		return nil, err
	}
	if openShiftProfile(profile, platform) {
		global, _ := m["global"].(Map)
		if global["platform"] == nil || global["platform"] == "" {
			m = Merge(m, Map{"global": Map{"platform": "openshift"}})
		}
	}
	return m, nil
}

// openShiftProfile tells whether the profile, or the default profile on the platform, is one of the OpenShift profiles.
func openShiftProfile(profile string, platform Platform) bool {
	switch profile {
	case "openshift", "openshift-ambient":
		return true
	case "", "default":
		return platform == PlatformOpenShift
	default:
		return false
	}
}
