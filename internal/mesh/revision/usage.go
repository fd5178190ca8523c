// Package revision knows which control plane revision a namespace or pod uses, indexes that incrementally in the
// operator's cache, and decides when an unused revision may be pruned.
package revision

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// Labels and annotations Istio uses to select a revision.
const (
	// LabelRev selects a revision (or tag) on a namespace or pod; as a pod annotation it records the revision
	// that injected the pod.
	LabelRev = "istio.io/rev"
	// LabelInjection=enabled on a namespace selects the default revision.
	LabelInjection = "istio-injection"
	// LabelSidecarInject=true on a pod asks for injection by the default revision.
	LabelSidecarInject = "sidecar.istio.io/inject"
	// LabelGatewayManaged=ManagedByMesh marks the pods of waypoints and gateways that istiod deploys itself: they
	// opt out of injection (sidecar.istio.io/inject=false) but run the proxy of the revision their istio.io/rev
	// label names.
	LabelGatewayManaged = "gateway.istio.io/managed"
	// ManagedByMesh is the value of LabelGatewayManaged on pods istiod deploys.
	ManagedByMesh = "istio.io-mesh-controller"
	// LabelMigrationOptOut, set to "disabled" on a namespace or in a workload's pod template labels, keeps Sail
	// from relabelling that namespace or restarting those workloads.
	LabelMigrationOptOut = "sailoperator.io/workload-migration"
)

// Index names of the operator's cache.
const (
	// IndexNamespaceRevision indexes namespaces by the revision they select.
	IndexNamespaceRevision = "sail.revision.namespace"
	// IndexPodRevision indexes running pods by the revision they use.
	IndexPodRevision = "sail.revision.pod"
)

// NamespaceRevision returns the revision a namespace selects: istio-injection=enabled means the default revision
// and wins over istio.io/rev; "" when it selects none.
func NamespaceRevision(labels map[string]string) string {
	if labels[LabelInjection] == "enabled" {
		return sailv1.DefaultRevision
	}
	if labels[LabelInjection] == "disabled" {
		return ""
	}
	return labels[LabelRev]
}

// PodRevision returns the revision a pod uses: none once it has completed, else RevisionOfPod.
func PodRevision(pod *corev1.Pod) string {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return ""
	}
	return RevisionOfPod(pod)
}

// RevisionOfPod returns the revision a pod that has not completed uses: the istio.io/rev annotation injection
// wrote, else (unless the pod opted out with sidecar.istio.io/inject=false) its own istio.io/rev label, else the
// default revision when it asks for injection; "" for none. The waypoints and gateways istiod deploys
// (gateway.istio.io/managed=istio.io-mesh-controller) opt out of injection yet run their revision's proxy: their
// istio.io/rev label counts (the default revision without one). Gateways injected with the gateway template count
// like any injected pod. It reads metadata only: the cache keeps pods as metadata, without the completed ones
// (RunningPods).
func RevisionOfPod(pod metav1.Object) string {
	labels, annotations := pod.GetLabels(), pod.GetAnnotations()
	if rev := annotations[LabelRev]; rev != "" {
		return rev
	}
	managed := labels[LabelGatewayManaged] == ManagedByMesh
	if labels[LabelSidecarInject] == "false" && !managed {
		return "" // opted out of injection, e.g. istiod's own pods, which carry their revision's label
	}
	if rev := labels[LabelRev]; rev != "" {
		return rev
	}
	if labels[LabelSidecarInject] == "true" || managed {
		return sailv1.DefaultRevision
	}
	return ""
}

// IndexNamespace is the cache index function for namespaces (metadata-only objects).
func IndexNamespace(o client.Object) []string {
	if rev := NamespaceRevision(o.GetLabels()); rev != "" {
		return []string{rev}
	}
	return nil
}

// IndexPod is the cache index function for pods (metadata-only objects of pods that have not completed).
func IndexPod(o client.Object) []string {
	if rev := RevisionOfPod(o); rev != "" {
		return []string{rev}
	}
	return nil
}

// Usage says whether anything uses a revision, and what.
type Usage struct {
	// Namespaces and Pods count what selects the revision (by its name, a tag that points at it, or a tag its
	// values declare).
	Namespaces, Pods int
	// ZTunnel tells whether the ZTunnel's targetRef names the revision.
	ZTunnel bool
}

// InUse tells whether anything uses the revision.
func (u Usage) InUse() bool { return u.Namespaces+u.Pods > 0 || u.ZTunnel }

// String describes the usage for condition messages. It names what selects the revision but counts nothing, so
// that pods and namespaces coming and going beside others do not rewrite the condition (a write request each
// time); the message changes only when a kind of use appears or goes.
func (u Usage) String() string {
	var parts []string
	if u.Namespaces > 0 {
		parts = append(parts, "namespaces select this revision")
	}
	if u.Pods > 0 {
		parts = append(parts, "pods use it")
	}
	if u.ZTunnel {
		parts = append(parts, "the ZTunnel targets it")
	}
	if len(parts) == 0 {
		return "Nothing uses this revision"
	}
	msg := strings.Join(parts, " and ")
	if u.Namespaces == 0 {
		msg = strings.Replace(msg, " it", " this revision", 1)
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// Of counts, from the cache's indexes, what uses the revision named rev (or any of its names, e.g. tags).
func Of(ctx context.Context, reader client.Reader, names ...string) (Usage, error) {
	var u Usage
	for _, name := range names {
		namespaces, err := Namespaces(ctx, reader, name)
		if err != nil {
			return Usage{}, err
		}
		u.Namespaces += len(namespaces)
		pods, err := Pods(ctx, reader, name)
		if err != nil {
			return Usage{}, err
		}
		u.Pods += len(pods)
	}
	return u, nil
}

// Namespaces lists, from the cache's namespace index (metadata only), the namespaces that select the revision
// (or tag) called name.
func Namespaces(ctx context.Context, reader client.Reader, name string) ([]metav1.PartialObjectMetadata, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := reader.List(ctx, list, client.MatchingFields{IndexNamespaceRevision: name}); err != nil {
		return nil, fmt.Errorf("listing namespaces that use revision %s: %w", name, err)
	}
	return list.Items, nil
}

// Pods lists, from the cache's pod index (metadata only), the pods that use the revision (or tag) called name.
func Pods(ctx context.Context, reader client.Reader, name string) ([]metav1.PartialObjectMetadata, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	if err := reader.List(ctx, list, client.MatchingFields{IndexPodRevision: name}); err != nil {
		return nil, fmt.Errorf("listing pods that use revision %s: %w", name, err)
	}
	return list.Items, nil
}

// PruneAfter returns when a non-active revision may be deleted: grace after the later of the moment it became
// inactive and the moment it became unused (rounded up to the second); ok=false while it is in use or its usage is unknown.
func PruneAfter(rev *sailv1.IstioRevision, inactiveSince time.Time, grace time.Duration) (time.Time, bool) {
	var inUse *metav1.Condition
	for i := range rev.Status.Conditions {
		if rev.Status.Conditions[i].Type == sailv1.ConditionInUse {
			inUse = &rev.Status.Conditions[i]
		}
	}
	if inUse == nil || inUse.Status != metav1.ConditionFalse || inUse.ObservedGeneration != rev.Generation {
		return time.Time{}, false
	}
	since := inUse.LastTransitionTime.Time
	if inactiveSince.After(since) {
		since = inactiveSince
	}
	// Both times are stored with one-second resolution (truncated), so the real moment may be up to a second
	// later: count from the end of that second, so a revision is never deleted before its grace period is over.
	return since.Add(time.Second).Add(grace), true
}

// InUse condition reasons.
const (
	// ReasonReferencedByWorkloads: namespaces, pods or the ZTunnel use the revision or tag.
	ReasonReferencedByWorkloads = "ReferencedByWorkloads"
	// ReasonNotReferenced: nothing selects the revision or tag.
	ReasonNotReferenced = "NotReferenced"
)

// SetInUse sets the InUse condition of a revision or tag (subject) from its usage, or Unknown when usage could not
// be read (err), which keeps a revision from being pruned. inUseSuffix ends the message when it is in use.
func SetInUse(conds *[]metav1.Condition, generation int64, usage Usage, err error, subject, inUseSuffix string) {
	switch {
	case err != nil:
		status.Set(conds, generation, sailv1.ConditionInUse, metav1.ConditionUnknown, sailv1.ReasonUsageUnknown,
			"Cannot tell whether workloads use this "+subject+": "+err.Error())
	case usage.InUse():
		status.Set(conds, generation, sailv1.ConditionInUse, metav1.ConditionTrue, ReasonReferencedByWorkloads,
			usage.String()+inUseSuffix)
	default:
		status.Set(conds, generation, sailv1.ConditionInUse, metav1.ConditionFalse, ReasonNotReferenced,
			"No namespace, pod or ZTunnel uses this "+subject+".")
	}
}
