package workloads

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/revision"
)

// LabelOptOut, set to "disabled" on a namespace or in a workload's pod template labels, keeps Sail from
// relabelling that namespace or restarting those workloads.
const LabelOptOut = revision.LabelMigrationOptOut

// AnnotationMigratedTo is written into a workload's pod template to restart it onto a revision; its value is the
// revision's name, so writing it again for the same revision restarts nothing.
const AnnotationMigratedTo = "sailoperator.io/migrated-to-revision"

// Workload kinds Sail restarts.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindDaemonSet   = "DaemonSet"
)

// Pod is what planning needs to know about a pod that runs an old revision.
type Pod struct {
	// PartialObjectMetadata is the pod's metadata (all planning reads; the operator's cache keeps no more).
	*metav1.PartialObjectMetadata
	// NamespaceLabels are the labels of the pod's namespace.
	NamespaceLabels map[string]string
	// Owner is the Deployment, StatefulSet or DaemonSet the pod belongs to, nil for any other owner or none.
	Owner *sailv1.WorkloadReference
}

// Plan is what to do about the pods that run old revisions.
type Plan struct {
	// Workloads to restart (each has at least one pod on an old revision), sorted.
	Workloads []sailv1.WorkloadReference
	// Skipped explains, per workload or bare pod, why it is left alone.
	Skipped map[string]string
}

// Resolver maps a name that selects a control plane (a revision or a revision tag) to the revision it means.
type Resolver func(name string) string

// MakePlan decides which workloads a restart moves to the active revision. A pod's workload is restarted when,
// after a restart, injection would pick the active revision for it (its namespace's istio-injection or
// istio.io/rev label, else its own istio.io/rev or sidecar.istio.io/inject label, with tags resolved); pods that
// opted out of injection or migration, are terminating, or belong to no Deployment, StatefulSet or DaemonSet are
// skipped with a reason.
func MakePlan(pods []Pod, active string, resolve Resolver) Plan {
	plan := Plan{Skipped: map[string]string{}}
	seen := map[sailv1.WorkloadReference]bool{}
	for _, p := range pods {
		if !p.DeletionTimestamp.IsZero() {
			continue // already going away, e.g. a rollout in progress
		}
		subject := "Pod " + p.Namespace + "/" + p.Name
		if p.Owner != nil {
			subject = p.Owner.String()
			if seen[*p.Owner] {
				continue
			}
		}
		if reason := skipReason(p, active, resolve); reason != "" {
			plan.Skipped[subject] = reason
			continue
		}
		if p.Owner == nil {
			plan.Skipped[subject] = "it is not owned by a Deployment, StatefulSet or DaemonSet; delete or recreate it to move it"
			continue
		}
		seen[*p.Owner] = true
		plan.Workloads = append(plan.Workloads, *p.Owner)
	}
	for _, w := range plan.Workloads {
		delete(plan.Skipped, w.String())
	}
	sort.Slice(plan.Workloads, func(i, j int) bool { return Less(plan.Workloads[i], plan.Workloads[j]) })
	return plan
}

// Less orders workload references by namespace, kind and name.
func Less(a, b sailv1.WorkloadReference) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.Name < b.Name
}

func skipReason(p Pod, active string, resolve Resolver) string {
	switch {
	case p.NamespaceLabels[LabelOptOut] == "disabled":
		return "its namespace opted out of workload migration (" + LabelOptOut + "=disabled)"
	case p.Labels[LabelOptOut] == "disabled":
		return "it opted out of workload migration (" + LabelOptOut + "=disabled)"
	case p.NamespaceLabels[revision.LabelInjection] == "disabled":
		return "injection is disabled in its namespace"
	case p.Labels[revision.LabelSidecarInject] == "false" || p.Annotations[revision.LabelSidecarInject] == "false":
		return "injection is disabled for it (" + revision.LabelSidecarInject + "=false)"
	}
	selected := revision.NamespaceRevision(p.NamespaceLabels)
	if selected == "" {
		selected = p.Labels[revision.LabelRev]
	}
	if selected == "" && p.Labels[revision.LabelSidecarInject] == "true" {
		selected = sailv1.DefaultRevision
	}
	if selected == "" {
		return "nothing selects a revision for it any more (no istio.io/rev or istio-injection label)"
	}
	if target := resolve(selected); target != active {
		return fmt.Sprintf("it selects %s, which is revision %s, not the active revision %s", selected, target, active)
	}
	return ""
}

// OwnerOf returns the workload a pod belongs to: its StatefulSet or DaemonSet owner, or the Deployment that owns
// its ReplicaSet (deploymentOf looks that up; "" when the ReplicaSet has no Deployment). Nil for anything else.
func OwnerOf(pod metav1.Object, deploymentOf func(namespace, replicaSet string, uid types.UID) (string, error)) (*sailv1.WorkloadReference, error) {
	for _, ref := range pod.GetOwnerReferences() {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		switch ref.Kind {
		case KindStatefulSet, KindDaemonSet:
			return &sailv1.WorkloadReference{Kind: ref.Kind, Namespace: pod.GetNamespace(), Name: ref.Name}, nil
		case "ReplicaSet":
			name, err := deploymentOf(pod.GetNamespace(), ref.Name, ref.UID)
			if err != nil || name == "" {
				return nil, err
			}
			return &sailv1.WorkloadReference{Kind: KindDeployment, Namespace: pod.GetNamespace(), Name: name}, nil
		}
	}
	return nil, nil
}
