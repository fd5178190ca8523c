package ztunnel

import (
	"encoding/json"
	"fmt"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// MinimumVersion is the oldest Istio minor version whose ztunnel chart Sail installs.
const MinimumVersion = "v1.24.0"

// Inherited returns the values a ZTunnel takes from the IstioRevision its targetRef resolves to: the revision's
// global values, meshConfig and revision name. The image hub and tag that Sail set for the revision's version are
// left out (ztunnel uses those of its own version); a hub or tag the user chose on the Istio is kept. list resolves
// the revision's version; nil keeps the hub and tag.
func Inherited(rev *sailv1.IstioRevision, list *versions.List) (values.Map, error) {
	m, err := values.ToMap(rev.Spec.Values)
	if err != nil {
		return nil, err
	}
	out := values.Map{}
	if global, ok := m["global"].(values.Map); ok {
		global = values.Merge(global, nil)
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

// Values returns the Helm values the ztunnel chart is rendered with, each layer overriding the previous one:
// Sail's image defaults for the version (and global.platform on OpenShift, so that the chart applies its OpenShift
// settings), the inherited values of the target revision (may be nil), the user's global values, and the user's
// ztunnel values lifted to the top level where the chart reads them (the chart itself uses global values as
// defaults of the top-level ones, so values.ztunnel.network wins over values.global.network).
func Values(version versions.Version, platform values.Platform, inherited values.Map, user *sailv1.ZTunnelValues) (values.Map, error) {
	base := values.Map{"hub": version.Hub, "tag": version.Tag}
	if platform == values.PlatformOpenShift {
		base["platform"] = "openshift"
	}
	m := values.Merge(values.Map{"global": base}, inherited)
	if user == nil {
		return m, nil
	}
	if user.Global != nil {
		g, err := toMap(user.Global)
		if err != nil {
			return nil, err
		}
		m = values.Merge(m, values.Map{"global": g})
	}
	if user.Ztunnel != nil {
		z, err := toMap(user.Ztunnel)
		if err != nil {
			return nil, err
		}
		m = values.Merge(m, z)
	}
	return m, nil
}

func toMap(v any) (values.Map, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := values.Map{}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// checkVersion refuses versions older than MinimumVersion.
func checkVersion(v versions.Version) error {
	d, err := versions.MinorDistance(MinimumVersion, v.Name)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("ztunnel needs Istio %s or newer; %s is too old", MinimumVersion, v.Name)
	}
	return nil
}
