// Package values shapes the Helm values of every chart Sail renders. An IstioRevision's values are computed from
// an Istio: Sail's defaults, the chosen profile, the user's values and the operator's overrides, merged in that
// order; the istiod, base, cni and ztunnel charts each get those (or their own resource's) values in the shape the
// chart reads.
package values

import (
	"encoding/json"
	"fmt"
	"sync"

	"sigs.k8s.io/yaml"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Map is a tree of Helm values as decoded from JSON or YAML.
type Map = map[string]any

// Platform is the kind of cluster the operator runs on.
type Platform string

// Platforms with their own default profile.
const (
	// PlatformKubernetes is any Kubernetes cluster without special needs.
	PlatformKubernetes Platform = "kubernetes"
	// PlatformOpenShift adds the platform-openshift profile (istio-cni through multus, SELinux options).
	PlatformOpenShift Platform = "openshift"
)

// profileFiles maps Sail's profile names to the Istio Helm profile files they are made of, applied in order.
var profileFiles = map[string][]string{
	"default":           nil,
	"empty":             nil,
	"ambient":           {"ambient"},
	"demo":              {"demo"},
	"preview":           {"preview"},
	"remote":            {"remote"},
	"stable":            {"stable"},
	"openshift":         {"platform-openshift"},
	"openshift-ambient": {"ambient", "platform-openshift"},
}

// Profiles returns the names of the profiles Sail knows.
func Profiles() []string {
	return []string{"ambient", "default", "demo", "empty", "openshift", "openshift-ambient", "preview", "remote", "stable"}
}

// Input is what a revision's values are computed from.
type Input struct {
	// Version is the concrete version; its image hub and tag are Sail's defaults.
	Version versions.Version
	// Profile is the Istio's spec.profile; empty means the default profile (or the platform's).
	Profile string
	// Platform is the cluster's platform.
	Platform Platform
	// User is the Istio's spec.values.
	User *sailv1.Values
	// Revision is the IstioRevision's name.
	Revision string
	// Namespace is the control plane namespace.
	Namespace string
}

// ForRevision returns the complete values of a revision: Sail's defaults (the version's images, and the platform
// of a platform profile as a Helm user names it, global.platform), then the chosen profile (or the platform's),
// then the user's values (maps merge, scalars and lists replace), then the operator's overrides (revision name and
// global.istioNamespace, and for an external istiod the settings of externalOverrides). Values that mix up the
// two sides of an external control plane are refused (checkExternal).
func ForRevision(in Input) (*sailv1.Values, error) {
	profile := in.Profile
	if profile == "" || profile == "default" {
		if in.Platform == PlatformOpenShift {
			profile = "openshift"
		}
	}
	files, ok := profileFiles[profile]
	if !ok && profile != "" {
		return nil, fmt.Errorf("profile %q is unknown; use one of %v", profile, Profiles())
	}
	merged := Map{"global": sailDefaults(in.Version, files)}
	for _, f := range files {
		layer, err := profileLayer(in.Version.Name, f)
		if err != nil {
			return nil, err
		}
		merged = Merge(merged, layer)
	}
	user, err := ToMap(in.User)
	if err != nil {
		return nil, err
	}
	merged = Merge(merged, user)
	revision := in.Revision
	if revision == sailv1.DefaultRevision {
		revision = ""
	}
	merged = Merge(merged, Map{"revision": revision, "global": Map{"istioNamespace": in.Namespace}})
	merged, err = withExternal(merged)
	if err != nil {
		return nil, err
	}
	return FromMap(merged)
}

// profileLayers caches parsed profile files by version and file name. Layers are shared and must not be
// modified; Merge never modifies its arguments.
var profileLayers sync.Map

func profileLayer(version, name string) (Map, error) {
	key := version + "/" + name
	if m, ok := profileLayers.Load(key); ok {
		return m.(Map), nil
	}
	data, ok, err := versions.ProfileFile(version, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("Istio %s has no %s profile; choose another profile or version", version, name)
	}
	var m Map
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("profile %s of Istio %s: %w", name, version, err)
	}
	m = placeTopLevelKeys(m)
	profileLayers.Store(key, m)
	return m, nil
}

// Merge returns base overlaid with over: maps merge key by key, any other value in over replaces the one in base.
// Neither argument is modified.
func Merge(base, over Map) Map {
	out := make(Map, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, bok := out[k].(Map)
		om, ook := v.(Map)
		if bok && ook {
			out[k] = Merge(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}

// ToMap converts typed values to a tree of maps (nil for nil).
func ToMap(v *sailv1.Values) (Map, error) {
	if v == nil {
		return Map{}, nil
	}
	return structToMap(v)
}

// structToMap converts typed values, a whole tree or one section of it, to a tree of maps (never nil).
func structToMap(v any) (Map, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m Map
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = Map{}
	}
	return m, nil
}

// FromMap converts a tree of maps to typed values. Keys that the values schema does not know are dropped: profile
// files carry settings for other charts (e.g. cni) that do not belong in a control plane's values.
func FromMap(m Map) (*sailv1.Values, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := &sailv1.Values{}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("values do not fit Istio's values schema: %w", err)
	}
	return out, nil
}

// ForIstiodChart returns the values the istiod chart is rendered with. The chart reads the control plane's
// settings at the top level (env, resources, replicaCount, ...), while the values schema, like istioctl, keeps
// them under pilot: the pilot section is lifted to the top level, where it wins over keys already there.
func ForIstiodChart(vals Map) Map {
	pilot, ok := vals["pilot"].(Map)
	if !ok {
		return vals
	}
	return Merge(vals, pilot)
}

// ForBaseChart returns the values the base chart is rendered with for the revision named default, whose
// cluster-wide objects (the default validating webhook, the reader roles) point at that revision.
func ForBaseChart(vals Map) Map {
	return Merge(vals, Map{"defaultRevision": sailv1.DefaultRevision})
}

// ForTagIstiodChart returns the values a revision's istiod chart is rendered with for one revision tag:
// values.revisionTags lists the tag, so the chart renders the tag's injection webhook and Service.
func ForTagIstiodChart(vals Map, tag string) Map {
	return Merge(ForIstiodChart(vals), Map{"revisionTags": []any{tag}})
}

// ForDefaultTagBaseChart returns the values the base chart is rendered with for the tag named default: its default
// validating webhook points at the tag's revision (named revision, istiod in namespace).
func ForDefaultTagBaseChart(vals Map, revision, namespace string) Map {
	return Merge(vals, Map{"defaultRevision": revision, "global": Map{"istioNamespace": namespace}})
}
