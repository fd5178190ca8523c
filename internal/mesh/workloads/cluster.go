package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/pipeline/readiness"
)

// staleNamespaces lists the namespaces labelled istio.io/rev=<old revision>, except those that opted out or use
// istio-injection (which wins over istio.io/rev), and those whose label names a tag that already points at the
// active revision (the tag default that took the name over from the InPlace revision named default).
func (m *Migrator) staleNamespaces(ctx context.Context, active string, old []string) ([]NamespaceMove, error) {
	resolve, err := m.tagResolver(ctx)
	if err != nil {
		return nil, err
	}
	var moves []NamespaceMove
	for _, name := range old {
		if resolve(name) == active {
			continue
		}
		namespaces, err := revision.Namespaces(ctx, m.Client, name)
		if err != nil {
			return nil, err
		}
		for i := range namespaces {
			labels := namespaces[i].GetLabels()
			if labels[revision.LabelRev] != name || labels[revision.LabelInjection] != "" || labels[LabelOptOut] == "disabled" {
				continue
			}
			moves = append(moves, NamespaceMove{Namespace: &namespaces[i], From: name})
		}
	}
	return moves, nil
}

// relabel points a namespace at the active revision (one deleted meanwhile needs nothing).
func (m *Migrator) relabel(ctx context.Context, ns *metav1.PartialObjectMetadata, active string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{revision.LabelRev: active}}})
	if err := m.Client.Patch(ctx, ns, client.RawPatch(types.MergePatchType, patch)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("relabelling namespace %s to istio.io/rev=%s: %w", ns.Name, active, err)
	}
	return nil
}

// plan lists the pods of the old revisions from the cache and decides which workloads to restart.
func (m *Migrator) plan(ctx context.Context, active string, old []string) (Plan, error) {
	resolve, err := m.tagResolver(ctx)
	if err != nil {
		return Plan{}, err
	}
	labelsOf := m.namespaceLabels(ctx)
	seen := map[types.UID]bool{}
	deploymentOf := m.deploymentOf(ctx, seen)
	var planned []Pod
	for _, name := range old {
		pods, err := revision.Pods(ctx, m.Client, name)
		if err != nil {
			return Plan{}, err
		}
		for i := range pods {
			labels, err := labelsOf(pods[i].Namespace)
			if err != nil {
				return Plan{}, err
			}
			owner, err := OwnerOf(&pods[i], deploymentOf)
			if err != nil {
				return Plan{}, err
			}
			planned = append(planned, Pod{PartialObjectMetadata: &pods[i], NamespaceLabels: labels, Owner: owner})
		}
	}
	// Only the ReplicaSets of pods still on an old revision are remembered: the others were deleted or
	// migrated, and a migration that completes forgets them all.
	m.deployments.retain(seen)
	return MakePlan(planned, active, resolve), nil
}

// tagResolver maps the names of revision tags to the revisions they point at (other names to themselves).
func (m *Migrator) tagResolver(ctx context.Context) (Resolver, error) {
	tags := &sailv1.IstioRevisionTagList{}
	if err := m.Client.List(ctx, tags); err != nil {
		return nil, fmt.Errorf("listing revision tags: %w", err)
	}
	tagTarget := map[string]string{}
	for _, t := range tags.Items {
		if t.Status.IstioRevision != "" {
			tagTarget[t.Name] = t.Status.IstioRevision
		}
	}
	return func(name string) string {
		if rev, ok := tagTarget[name]; ok {
			return rev
		}
		return name
	}, nil
}

// namespaceLabels returns a lookup of namespaces' labels from the cache, each read once (nil for one that is gone).
func (m *Migrator) namespaceLabels(ctx context.Context) func(namespace string) (map[string]string, error) {
	seen := map[string]map[string]string{}
	return func(namespace string) (map[string]string, error) {
		if labels, ok := seen[namespace]; ok {
			return labels, nil
		}
		ns := &metav1.PartialObjectMetadata{}
		ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
		if err := m.Client.Get(ctx, client.ObjectKey{Name: namespace}, ns); client.IgnoreNotFound(err) != nil {
			return nil, fmt.Errorf("reading namespace %s: %w", namespace, err)
		}
		seen[namespace] = ns.GetLabels()
		return seen[namespace], nil
	}
}

// deploymentOf returns a lookup of the Deployment that owns a ReplicaSet, remembered by ReplicaSet UID; it
// records in seen each ReplicaSet it was asked about.
func (m *Migrator) deploymentOf(ctx context.Context, seen map[types.UID]bool) func(namespace, name string, uid types.UID) (string, error) {
	return func(namespace, name string, uid types.UID) (string, error) {
		seen[uid] = true
		if owner, ok := m.deployments.get(uid); ok {
			return owner, nil
		}
		rs := &metav1.PartialObjectMetadata{}
		rs.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
		if err := m.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, rs); err != nil {
			if apierrors.IsNotFound(err) {
				return "", nil
			}
			return "", fmt.Errorf("reading ReplicaSet %s/%s to find its Deployment: %w", namespace, name, err)
		}
		owner := ""
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == KindDeployment {
			owner = ref.Name
		}
		m.deployments.put(uid, owner)
		return owner, nil
	}
}

// ownerCache remembers the Deployment that owns each ReplicaSet, by ReplicaSet UID ("" for none).
type ownerCache struct {
	mu     sync.Mutex
	owners map[types.UID]string
}

func (c *ownerCache) get(uid types.UID) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	owner, ok := c.owners[uid]
	return owner, ok
}

// retain forgets every ReplicaSet not in keep.
func (c *ownerCache) retain(keep map[types.UID]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for uid := range c.owners {
		if !keep[uid] {
			delete(c.owners, uid)
		}
	}
}

func (c *ownerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.owners)
}

func (c *ownerCache) put(uid types.UID, owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owners == nil {
		c.owners = map[types.UID]string{}
	}
	c.owners[uid] = owner
}

// pickBatch takes up to size workloads of the plan that a restart can move, moving the others to plan.Skipped
// (paused Deployments, OnDelete update strategies, and workloads already restarted onto active whose rollout
// finished with pods still on an old revision).
func (m *Migrator) pickBatch(ctx context.Context, active string, plan *Plan, size int) ([]sailv1.WorkloadReference, error) {
	var batch []sailv1.WorkloadReference
	var keep []sailv1.WorkloadReference
	for _, w := range plan.Workloads {
		if len(batch) == size {
			keep = append(keep, w)
			continue
		}
		obj, err := m.get(ctx, w)
		if err != nil {
			return nil, err
		}
		if obj == nil {
			continue // deleted since its pods were cached
		}
		if reason, err := m.unrestartable(obj, w, active); err != nil {
			return nil, err
		} else if reason != "" {
			plan.Skipped[w.String()] = reason
			continue
		}
		batch = append(batch, w)
		keep = append(keep, w)
	}
	plan.Workloads = keep
	return batch, nil
}

func (m *Migrator) unrestartable(obj *unstructured.Unstructured, w sailv1.WorkloadReference, active string) (string, error) {
	if paused, _, _ := unstructured.NestedBool(obj.Object, "spec", "paused"); paused {
		return "the Deployment is paused; resume it to move it", nil
	}
	strategy, _, _ := unstructured.NestedString(obj.Object, "spec", "updateStrategy", "type")
	if strategy == string(appsv1.OnDeleteStatefulSetStrategyType) {
		return "its update strategy is OnDelete; delete its pods to move them", nil
	}
	annotations, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "template", "metadata", "annotations")
	if annotations[AnnotationMigratedTo] != active {
		return "", nil
	}
	ready, _, err := readiness.Current(obj)
	if err != nil || !ready {
		return "", err // still rolling out: part of the batch again
	}
	return "it was restarted onto " + active + " and rolled out, but its pods still run an older revision; check its injection settings", nil
}

// get reads a workload from the API server; nil when it no longer exists.
func (m *Migrator) get(ctx context.Context, w sailv1.WorkloadReference) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind(w.Kind))
	if err := m.APIReader.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: w.Name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", w, err)
	}
	return u, nil
}

// restart writes the migrated-to annotation into the workload's pod template, which rolls it out.
func (m *Migrator) restart(ctx context.Context, w sailv1.WorkloadReference, active string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind(w.Kind))
	u.SetNamespace(w.Namespace)
	u.SetName(w.Name)
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{AnnotationMigratedTo: active}}}}})
	if err := m.Client.Patch(ctx, u, client.RawPatch(types.MergePatchType, patch)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("restarting %s onto revision %s: %w", w, active, err)
	}
	m.restarts.Add(1)
	return nil
}

// rollout looks at how the workloads of a batch are rolling out.
func (m *Migrator) rollout(ctx context.Context, batch []sailv1.WorkloadReference) (*BatchRollout, error) {
	var pending []string
	for _, w := range batch {
		obj, err := m.get(ctx, w)
		if err != nil {
			return nil, err
		}
		if obj == nil {
			continue // deleted: nothing left to roll out
		}
		ready, msg, err := readiness.Current(obj)
		if err != nil {
			return nil, err
		}
		if !ready {
			pending = append(pending, msg)
		}
	}
	return &BatchRollout{Done: len(pending) == 0, Pending: strings.Join(pending, "; ")}, nil
}
