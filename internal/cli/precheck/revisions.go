package precheck

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	istioctrl "github.com/sail-mesh/sail/internal/controller/istio"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/mesh/skew"
	"github.com/sail-mesh/sail/internal/mesh/workloads"
)

var apiextensionsCRD = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// plannedRevision is the revision an Istio would be served by after the change.
type plannedRevision struct {
	istio          *sailv1.Istio
	name, version  string
	existing       *sailv1.IstioRevision
	others         []sailv1.IstioRevision // the Istio's other revisions, retired once unused
	resolveErr     error
	readFailure    error
	updateWorkload bool
}

// plan works out, for each Istio, the revision that would serve it.
func plan(ctx context.Context, in Input) []plannedRevision {
	all := &sailv1.IstioRevisionList{}
	listErr := in.Client.List(ctx, all)
	var out []plannedRevision
	for i := range in.Istios {
		istio := &in.Istios[i]
		p := plannedRevision{istio: istio, readFailure: listErr, updateWorkload: workloads.Enabled(istio)}
		v, err := in.Versions.Resolve(versionOr(istio.Spec.Version, in.Target.Name))
		if err != nil {
			p.resolveErr = err
			out = append(out, p)
			continue
		}
		p.version, p.name = v.Name, istioctrl.RevisionName(istio, v.Name)
		for j := range all.Items {
			rev := &all.Items[j]
			owner := metav1.GetControllerOf(rev)
			switch {
			case rev.Name == p.name:
				p.existing = rev
			case owner != nil && owner.Kind == sailv1.IstioKind && owner.Name == istio.Name:
				p.others = append(p.others, *rev)
			}
		}
		out = append(out, p)
	}
	return out
}

func versionOr(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

// checkRevisions reports, per Istio, whether its change would be refused in place, which revisions it creates and
// retires, and which workloads updateWorkloads would restart.
func checkRevisions(ctx context.Context, in Input) []Finding {
	const check = "revisions"
	var out []Finding
	for _, p := range plan(ctx, in) {
		switch {
		case p.resolveErr != nil:
			out = append(out, finding(Error, check, "Istio %s: %v; set spec.version to one of them", p.istio.Name, p.resolveErr))
			continue
		case p.readFailure != nil:
			out = append(out, finding(Warning, check, "cannot list IstioRevisions: %v; the revision checks are skipped", p.readFailure))
			return out
		}
		out = append(out, revisionFindings(ctx, in, p)...)
	}
	return out
}

func revisionFindings(ctx context.Context, in Input, p plannedRevision) []Finding {
	const check = "revisions"
	name := p.istio.Name
	if p.existing != nil {
		if reason, err := istioctrl.CheckInPlaceMove(p.existing, p.version); err != nil {
			return []Finding{finding(Error, check, "Istio %s: the change would be refused (%s): %v", name, reason, err)}
		}
		if p.existing.Spec.Version == p.version {
			return []Finding{finding(Info, check, "Istio %s: IstioRevision %s already runs %s; nothing to upgrade", name, p.name, p.version)}
		}
		return []Finding{finding(Info, check, "Istio %s: IstioRevision %s would move in place from %s to %s; istiod "+
			"restarts, and sidecars get %s when their workloads restart", name, p.name, p.existing.Spec.Version, p.version, p.version)}
	}
	out := []Finding{finding(Info, check, "Istio %s: IstioRevision %s would be created at %s", name, p.name, p.version)}
	var old []string
	for _, rev := range p.others {
		old = append(old, rev.Name)
		out = append(out, finding(Info, check, "Istio %s: IstioRevision %s (%s) would be retired once nothing uses it "+
			"(spec.updateStrategy.inactiveRevisionDeletionGracePeriodSeconds after that)", name, rev.Name, rev.Spec.Version))
	}
	if len(old) > 0 {
		out = append(out, restartFindings(ctx, in, p, old)...)
	}
	return out
}

// restartFindings reports the workloads on the old revisions: those updateWorkloads would restart (the same plan
// the operator makes, workloads.MakePlan), or, without it, those to restart by hand.
func restartFindings(ctx context.Context, in Input, p plannedRevision, old []string) []Finding {
	const check = "workloads"
	resolve := tagResolver(ctx, in.Client)
	relabelTo := ""
	if p.updateWorkload {
		relabelTo = p.name
	}
	planned, err := podsOn(ctx, in.Client, old, relabelTo, resolve)
	if err != nil {
		return []Finding{finding(Warning, check, "cannot list the pods of the old revisions: %v", err)}
	}
	wp := workloads.MakePlan(planned, p.name, resolve)
	var names []string
	for _, w := range wp.Workloads {
		names = append(names, w.String())
	}
	if len(names) == 0 {
		return []Finding{finding(Info, check, "Istio %s: no workload runs on %s", p.istio.Name, strings.Join(old, ", "))}
	}
	if p.updateWorkload {
		return []Finding{finding(Warning, check, "Istio %s: updateWorkloads would restart %d workload(s) to move them to %s: %s",
			p.istio.Name, len(names), p.name, strings.Join(names, ", "))}
	}
	return []Finding{finding(Info, check, "Istio %s: %d workload(s) run on %s; relabel their namespaces "+
		"(istio.io/rev=%s) and restart them, or set spec.updateStrategy.updateWorkloads: %s",
		p.istio.Name, len(names), strings.Join(old, ", "), p.name, strings.Join(names, ", "))}
}

// podsOn lists the pods that run one of the revisions with their namespaces' labels and owners. With relabelTo
// set, the namespaces' labels are those after updateWorkloads relabelled them: istio.io/rev=<old revision> points
// at relabelTo, unless the namespace uses istio-injection, opted out, or names a tag already on relabelTo.
func podsOn(ctx context.Context, c client.Client, revs []string, relabelTo string, resolve workloads.Resolver) ([]workloads.Pod, error) {
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods); err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, r := range revs {
		wanted[r] = true
	}
	var out []workloads.Pod
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !wanted[revision.PodRevision(pod)] {
			continue
		}
		ns := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: pod.Namespace}, ns); client.IgnoreNotFound(err) != nil {
			return nil, err
		}
		owner, err := workloads.OwnerOf(pod, deploymentOf(ctx, c))
		if err != nil {
			return nil, err
		}
		out = append(out, workloads.Pod{PartialObjectMetadata: &metav1.PartialObjectMetadata{TypeMeta: pod.TypeMeta, ObjectMeta: pod.ObjectMeta}, NamespaceLabels: relabelled(ns.Labels, wanted, relabelTo, resolve), Owner: owner})
	}
	return out, nil
}

// relabelled returns a namespace's labels after updateWorkloads moved it from an old revision to relabelTo ("" for
// no move), as the operator's migrator does.
func relabelled(labels map[string]string, old map[string]bool, relabelTo string, resolve workloads.Resolver) map[string]string {
	rev := labels[revision.LabelRev]
	if relabelTo == "" || !old[rev] || resolve(rev) == relabelTo || labels[revision.LabelInjection] != "" ||
		labels[workloads.LabelOptOut] == "disabled" {
		return labels
	}
	out := map[string]string{}
	for k, v := range labels {
		out[k] = v
	}
	out[revision.LabelRev] = relabelTo
	return out
}

// deploymentOf returns the name of the Deployment that controls a ReplicaSet ("" for none).
func deploymentOf(ctx context.Context, c client.Client) func(namespace, name string, _ types.UID) (string, error) {
	return func(namespace, name string, _ types.UID) (string, error) {
		rs := &metav1.PartialObjectMetadata{}
		rs.SetGroupVersionKind(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"})
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, rs); err != nil {
			if apierrors.IsNotFound(err) {
				return "", nil
			}
			return "", fmt.Errorf("reading ReplicaSet %s/%s: %w", namespace, name, err)
		}
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == "Deployment" {
			return ref.Name, nil
		}
		return "", nil
	}
}

// tagResolver maps revision tag names to the revisions they point at (other names to themselves).
func tagResolver(ctx context.Context, c client.Client) workloads.Resolver {
	tags := &sailv1.IstioRevisionTagList{}
	target := map[string]string{}
	if c.List(ctx, tags) == nil {
		for _, t := range tags.Items {
			if t.Status.IstioRevision != "" {
				target[t.Name] = t.Status.IstioRevision
			}
		}
	}
	return func(name string) string {
		if rev, ok := target[name]; ok {
			return rev
		}
		return name
	}
}

// checkSkew checks the node components after the change against the control planes after it, and each new
// control plane version against the node components, with the operator's rules (internal/mesh/skew).
func checkSkew(ctx context.Context, in Input) []Finding {
	const check = "version-skew"
	planned := plan(ctx, in)
	planes, comps := planesAfter(ctx, in, planned), componentsAfter(in)
	var out []Finding
	for _, c := range comps {
		if err := skew.CheckComponent(c.Kind, c.Version, planes); err != nil {
			out = append(out, finding(Error, check, "%v", err))
		}
	}
	for _, p := range planned {
		if p.resolveErr != nil || (p.existing != nil && p.existing.Spec.Version == p.version) {
			continue
		}
		if err := skew.CheckControlPlane(p.name, p.version, comps); err != nil {
			out = append(out, finding(Error, check, "%v", err))
		}
	}
	if len(out) == 0 && len(comps) > 0 {
		out = append(out, finding(Info, check, "IstioCNI and ZTunnel stay within one minor version of every control plane, at or below it"))
	}
	return out
}

// planesAfter returns the control planes after the change: the cluster's revisions (an Istio's in-place revision at
// its new version) and the revisions the change creates.
func planesAfter(ctx context.Context, in Input, planned []plannedRevision) []skew.ControlPlane {
	current, _ := skew.ControlPlanes(ctx, in.Client)
	moved := map[string]string{}
	for _, p := range planned {
		if p.resolveErr == nil {
			moved[p.name] = p.version
		}
	}
	var out []skew.ControlPlane
	for _, cp := range current {
		if v, ok := moved[cp.Name]; ok {
			cp.Versions = []string{v}
			delete(moved, cp.Name)
		}
		out = append(out, cp)
	}
	for name, v := range moved {
		out = append(out, skew.ControlPlane{Name: name, Versions: []string{v}})
	}
	return out
}

// componentsAfter returns the IstioCNI and ZTunnel after the change with their versions.
func componentsAfter(in Input) []skew.Component {
	var out []skew.Component
	add := func(kind, version string) {
		if v, err := in.Versions.Resolve(versionOr(version, in.Target.Name)); err == nil {
			out = append(out, skew.Component{Kind: kind, Version: v.Name})
		}
	}
	if in.CNI != nil {
		add(sailv1.IstioCNIKind, in.CNI.Spec.Version)
	}
	if in.ZTunnel != nil {
		add(sailv1.ZTunnelKind, in.ZTunnel.Spec.Version)
	}
	return out
}
