package values

import (
	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// InheritedByZTunnel returns the values a ZTunnel takes from the IstioRevision its targetRef resolves to: the
// revision's global values, meshConfig and revision name. The image hub and tag that Sail set for the revision's
// version are left out (ztunnel uses those of its own version); a hub or tag the user chose on the Istio is kept.
// list resolves the revision's version; nil keeps the hub and tag.
func InheritedByZTunnel(rev *sailv1.IstioRevision, list *versions.List) (Map, error) {
	m, err := ToMap(rev.Spec.Values)
	if err != nil {
		return nil, err
	}
	out := Map{}
	if global, ok := m["global"].(Map); ok {
		global = Merge(global, nil)
		if list != nil {
			if v, err := list.Resolve(rev.Spec.Version); err == nil {
				if global["hub"] == v.Hub {
					delete(global, "hub")
				}
				if global["tag"] == v.Tag {
					delete(global, "tag")
				}
			}
		}
		out["global"] = global
	}
	if mc, ok := m["meshConfig"]; ok {
		out["meshConfig"] = mc
	}
	if r, ok := m["revision"]; ok {
		out["revision"] = r
	}
	return out, nil
}

// ForZTunnelChart returns the Helm values the ztunnel chart is rendered with, each layer overriding the previous
// one: Sail's image defaults for the version (and global.platform on OpenShift, so that the chart applies its
// OpenShift settings), the inherited values of the target revision (may be nil), the user's global values, and the
// user's ztunnel values lifted to the top level where the chart reads them (the chart itself uses global values as
// defaults of the top-level ones, so values.ztunnel.network wins over values.global.network).
func ForZTunnelChart(version versions.Version, platform Platform, inherited Map, user *sailv1.ZTunnelValues) (Map, error) {
	base := Map{"hub": version.Hub, "tag": version.Tag}
	if platform == PlatformOpenShift {
		base["platform"] = "openshift"
	}
	m := Merge(Map{"global": base}, inherited)
	if user == nil {
		return m, nil
	}
	if user.Global != nil {
		g, err := structToMap(user.Global)
		if err != nil {
			return nil, err
		}
		m = Merge(m, Map{"global": g})
	}
	if user.Ztunnel != nil {
		z, err := structToMap(user.Ztunnel)
		if err != nil {
			return nil, err
		}
		m = Merge(m, z)
	}
	return m, nil
}
