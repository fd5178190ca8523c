// Package skew holds Istio's version rules between components, as pure functions: how far the node components
// (IstioCNI, ZTunnel) may be from the control planes they serve, and which in-place moves of a control plane are
// supported. The controllers refuse what these rules refuse; `sailctl precheck` reports the same findings.
//
// Istio documents (https://istio.io/latest/docs/ambient/upgrade/helm-upgrade/) that ztunnel and istio-cni at
// version 1.x work with a control plane at 1.x or 1.x+1: the control plane is upgraded first, the node components
// after it, and they are never more than one minor version apart.
package skew

import (
	"fmt"
	"strings"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// ControlPlane is one control plane a node component serves: an IstioRevision and the versions it runs or is
// asked to run.
type ControlPlane struct {
	// Name is the IstioRevision's name.
	Name string
	// Versions are the revision's spec.version and, when different, the version its istiod still runs.
	Versions []string
}

// ControlPlaneOf returns the control plane of an IstioRevision.
func ControlPlaneOf(rev *sailv1.IstioRevision) ControlPlane {
	cp := ControlPlane{Name: rev.Name, Versions: []string{rev.Spec.Version}}
	if running := rev.Status.ReadyVersion; running != "" && running != rev.Spec.Version {
		cp.Versions = append(cp.Versions, running)
	}
	return cp
}

// Supported tells whether a node component at version component may serve a control plane at version plane:
// the control plane at the component's minor version or one newer.
func Supported(component, plane string) (bool, error) {
	d, err := versions.MinorDistance(component, plane)
	if err != nil {
		return false, err
	}
	return d == 0 || d == 1, nil
}

// CheckComponent returns an error naming every control plane that a node component (kind, e.g. "IstioCNI") at
// version may not serve, and the order of upgrade that fixes it; nil when all are within the skew.
func CheckComponent(kind, version string, planes []ControlPlane) error {
	var older, newer []string
	for _, cp := range planes {
		for _, v := range cp.Versions {
			d, err := versions.MinorDistance(version, v)
			if err != nil {
				return fmt.Errorf("%s %s cannot be compared with IstioRevision %s: %w", kind, version, cp.Name, err)
			}
			if d < 0 {
				older = append(older, cp.Name+" ("+v+")")
				break
			}
			if d > 1 {
				newer = append(newer, cp.Name+" ("+v+")")
				break
			}
		}
	}
	return skewError(kind, version, older, newer)
}

func skewError(kind, version string, older, newer []string) error {
	var msgs []string
	if len(older) > 0 {
		msgs = append(msgs, fmt.Sprintf("%s %s would be newer than the control plane of IstioRevision %s; "+
			"upgrade the control plane first (spec.version of its Istio), then %s once it is Ready",
			kind, version, strings.Join(older, ", "), kind))
	}
	if len(newer) > 0 {
		msgs = append(msgs, fmt.Sprintf("%s %s would be more than one minor version older than the control plane of "+
			"IstioRevision %s; upgrade %s to within one minor version of every control plane",
			kind, version, strings.Join(newer, ", "), kind))
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: Istio supports %s at the control plane's minor version or one older (control plane "+
		"upgraded first); the previous version keeps running", strings.Join(msgs, "; "), kind)
}

// Component is a node component installed in the cluster, for checking a new control plane version against it.
type Component struct {
	// Kind is IstioCNI or ZTunnel.
	Kind string
	// Version is the version it runs.
	Version string
}

// CheckControlPlane returns an error when a control plane (IstioRevision name) at version would be outside the
// skew of an installed node component, with the order that fixes it; nil when all are within it.
func CheckControlPlane(name, version string, components []Component) error {
	var msgs []string
	for _, c := range components {
		d, err := versions.MinorDistance(c.Version, version)
		if err != nil {
			return err
		}
		switch {
		case d < 0:
			msgs = append(msgs, fmt.Sprintf("%s runs %s, newer than %s: downgrade %s first, or keep the control plane "+
				"at %s or newer", c.Kind, c.Version, version, c.Kind, c.Version))
		case d > 1:
			msgs = append(msgs, fmt.Sprintf("%s runs %s, more than one minor version older than %s: upgrade one minor "+
				"version at a time, the control plane first, then %s", c.Kind, c.Version, version, c.Kind))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("IstioRevision %s at %s is refused (the previous version keeps running): %s", name, version,
		strings.Join(msgs, "; "))
}

// CheckInPlace returns the condition reason and error that refuse moving a control plane in place from one
// version to another: UpgradeRefused for more than one minor version up, DowngradeRefused for any downgrade of a
// minor version or more (Istio supports in-place downgrades of a patch only); "" and nil when it is supported.
func CheckInPlace(from, to string) (string, error) {
	d, err := versions.MinorDistance(from, to)
	if err != nil {
		return sailv1.ReasonUpgradeRefused, fmt.Errorf("cannot move the control plane in place from %s to %s: %w; "+
			"use the RevisionBased update strategy", from, to, err)
	}
	switch {
	case d > 1:
		return sailv1.ReasonUpgradeRefused, fmt.Errorf("cannot upgrade the control plane in place from %s to %s: "+
			"Istio supports in-place upgrades of one minor version at a time; go through the versions in between, "+
			"or use the RevisionBased update strategy", from, to)
	case d < 0:
		return sailv1.ReasonDowngradeRefused, fmt.Errorf("cannot downgrade the control plane in place from %s to %s: "+
			"Istio supports in-place downgrades of a patch version only; set spec.version back to %s, or use the "+
			"RevisionBased update strategy to run %s beside it", from, to, from, to)
	}
	return "", nil
}
