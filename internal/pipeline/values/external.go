package values

import (
	"errors"
	"fmt"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// The external control plane topology: an istiod installed with global.externalIstiod in one cluster (the
// external cluster) reads its configuration from another one (the config cluster, the remote profile with
// global.configCluster) through the Secret ConfigClusterSecret, which the istiod chart mounts at KUBECONFIG.

// ConfigClusterSecret is the Secret, in the control plane's namespace, that holds the kubeconfig of the config
// cluster of an external istiod (`sailctl create-remote-secret --type config` prints it).
const ConfigClusterSecret = "istio-kubeconfig"

// ConfigClusterSecretKey is the key of ConfigClusterSecret that istiod reads (the chart's KUBECONFIG file).
const ConfigClusterSecretKey = "config"

// IsExternalIstiod tells whether a revision's values install an external istiod (global.externalIstiod).
func IsExternalIstiod(v *sailv1.Values) bool {
	return v != nil && v.Global != nil && v.Global.ExternalIstiod != nil && *v.Global.ExternalIstiod
}

// checkExternal refuses merged values that mix up the two sides of the external control plane topology, with an
// error that says which side each setting belongs to.
func checkExternal(m Map) error {
	external := boolAt(m, "global", "externalIstiod")
	configCluster := boolAt(m, "global", "configCluster")
	remote := boolAt(m, "istiodRemote", "enabled")
	var errs []error
	if external && remote {
		errs = append(errs, errors.New("values.global.externalIstiod runs istiod in this cluster, but the remote "+
			"profile (istiodRemote.enabled) installs none: in the external cluster use a profile with istiod and "+
			"externalIstiod; in the config cluster use the remote profile with global.configCluster"))
	}
	if configCluster && !remote {
		errs = append(errs, errors.New("values.global.configCluster is for the config cluster of an external "+
			"istiod, which has no istiod of its own: set spec.profile: remote (and set global.externalIstiod on "+
			"the Istio of the external cluster instead)"))
	}
	if configCluster && remote && stringAt(m, "istiodRemote", "injectionURL") == "" &&
		stringAt(m, "global", "remotePilotAddress") == "" {
		errs = append(errs, errors.New("values.global.configCluster: the injection webhook of this config cluster "+
			"has nowhere to call: set values.istiodRemote.injectionURL to the external istiod's "+
			"https://ADDRESS:15017/inject/cluster/CLUSTER/net/NETWORK (or global.remotePilotAddress)"))
	}
	return errors.Join(errs...)
}

// externalOverrides returns what Sail sets for an external istiod, over the user's values: no admission
// webhooks in the external cluster (istiod patches and serves the config cluster's, which the config cluster's
// Istio installs; nothing in this cluster would call them), and the mesh and injector ConfigMaps its chart
// renders here mounted into istiod (it would otherwise look for them in the config cluster, where the remote
// profile installs no injector ConfigMap, and inject nothing). Volumes the user named the same are kept.
func externalOverrides(m Map) Map {
	suffix := ""
	if rev, _ := m["revision"].(string); rev != "" {
		suffix = "-" + rev
	}
	pilot, _ := m["pilot"].(Map)
	volumes := listAt(pilot, "volumes")
	mounts := listAt(pilot, "volumeMounts")
	for _, v := range []struct{ name, configMap, path string }{
		{"config-volume", "istio" + suffix, "/etc/istio/config"},
		{"inject-volume", "istio-sidecar-injector" + suffix, "/var/lib/istio/inject"},
	} {
		if !hasNamed(volumes, v.name) {
			volumes = append(volumes, Map{"name": v.name, "configMap": Map{"name": v.configMap}})
		}
		if !hasNamed(mounts, v.name) {
			mounts = append(mounts, Map{"name": v.name, "mountPath": v.path, "readOnly": true})
		}
	}
	return Map{
		"global": Map{"operatorManageWebhooks": true, "configValidation": false},
		"pilot":  Map{"volumes": volumes, "volumeMounts": mounts},
	}
}

func boolAt(m Map, keys ...string) bool {
	b, _ := valueAt(m, keys...).(bool)
	return b
}

func stringAt(m Map, keys ...string) string {
	s, _ := valueAt(m, keys...).(string)
	return s
}

func valueAt(m Map, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(Map)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// listAt returns a copy of the list at key of m (nil m or no list: an empty one).
func listAt(m Map, key string) []any {
	l, _ := m[key].([]any)
	return append([]any{}, l...)
}

func hasNamed(list []any, name string) bool {
	for _, item := range list {
		if im, ok := item.(Map); ok && im["name"] == name {
			return true
		}
	}
	return false
}

// withExternal checks merged values for the external control plane topology and, for an external istiod, adds
// Sail's settings (externalOverrides).
func withExternal(m Map) (Map, error) {
	if err := checkExternal(m); err != nil {
		return nil, fmt.Errorf("inconsistent external control plane values: %w", err)
	}
	if !boolAt(m, "global", "externalIstiod") {
		return m, nil
	}
	return Merge(m, externalOverrides(m)), nil
}
