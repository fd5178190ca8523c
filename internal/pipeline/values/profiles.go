package values

import (
	"reflect"
	"strings"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// platformPrefix starts the names of Istio's platform profiles (platform-openshift, ...).
const platformPrefix = "platform-"

// sailDefaults returns Sail's global defaults for a version and the profile files it applies: the version's
// images, and global.platform for a platform profile. Istio's charts read global.platform beyond the profile
// (istiod's PLATFORM variable, the OpenShift RBAC of the cni and ztunnel charts), and Helm users set it to select
// the platform profile, so Sail sets it the same way; the user's values still win.
func sailDefaults(v versions.Version, files []string) Map {
	global := Map{"hub": v.Hub, "tag": v.Tag}
	for _, f := range files {
		if platform, ok := strings.CutPrefix(f, platformPrefix); ok {
			global["platform"] = platform
		}
	}
	return global
}

// Field names (json) of the typed values: the top level, and the pilot section, whose settings the istiod chart
// reads at its top level.
var (
	topLevelFields = jsonFields(reflect.TypeFor[sailv1.Values]())
	pilotFields    = jsonFields(reflect.TypeFor[sailv1.PilotConfig]())
)

// placeTopLevelKeys moves the top-level keys of a profile that the values schema keeps under pilot there (e.g. the
// OpenShift profile's trustedZtunnelNamespace, the remote profile's configMap). Istio's profiles are written for
// the charts, and the istiod chart reads pilot's settings at its top level; the values schema, like istioctl,
// keeps them under pilot. A key the profile also sets under pilot keeps the pilot value, as in the chart.
func placeTopLevelKeys(profile Map) Map {
	out, pilot := Map{}, Map{}
	for k, v := range profile {
		if !topLevelFields[k] && pilotFields[k] {
			pilot[k] = v
			continue
		}
		out[k] = v
	}
	if len(pilot) == 0 {
		return out
	}
	return Merge(Map{"pilot": pilot}, out)
}

// jsonFields returns the json names of a struct's fields.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}
