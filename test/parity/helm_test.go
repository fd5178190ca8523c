package parity

import (
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// helmProfile returns the values by which a Helm user selects the equivalent of a Sail profile, the way Istio's
// documentation tells them to: `--set profile=<name>` for Istio's profiles, `--set global.platform=openshift`
// for OpenShift; Sail's default and empty profiles add nothing.
func helmProfile(profile string) map[string]any {
	switch profile {
	case "default", "empty":
		return map[string]any{}
	case "openshift":
		return map[string]any{"global": map[string]any{"platform": "openshift"}}
	case "openshift-ambient":
		return map[string]any{"profile": "ambient", "global": map[string]any{"platform": "openshift"}}
	default:
		return map[string]any{"profile": profile}
	}
}

// helmValues returns the values a Helm user passes to install a chart of a version with a profile: the profile,
// the version's images (the charts published in Istio's Go module name none) and the extra values, which win.
func helmValues(v versions.Version, profile string, extra map[string]any) map[string]any {
	vals := loader.MergeMaps(helmProfile(profile), map[string]any{"global": map[string]any{"hub": v.Hub, "tag": v.Tag}})
	return loader.MergeMaps(vals, extra) // how Helm merges -f files and --set flags
}
