// Package workloads moves workloads from an Istio's older revisions to its active revision
// (spec.updateStrategy.updateWorkloads): it relabels namespaces that name an old revision, then restarts the
// Deployments, StatefulSets and DaemonSets whose pods still run one, a batch at a time, and reports progress in
// the Istio's status.
package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/pipeline/readiness"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// The migrator reads ReplicaSets (to find their Deployments) and restarts workloads.
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get

// Defaults of spec.updateStrategy.workloadMigration, also set by the CRD.
const (
	DefaultBatchSize           = 10
	DefaultDelayBetweenBatches = 5 * time.Second
	DefaultBatchTimeout        = 10 * time.Minute
)

// How often a batch in progress is checked, and how often a finished migration that skipped workloads looks again.
const (
	pollBatch   = 2 * time.Second
	pollSkipped = 30 * time.Second
)

// Config is the resolved spec.updateStrategy.workloadMigration.
type Config struct {
	BatchSize           int
	DelayBetweenBatches time.Duration
	BatchTimeout        time.Duration
}

// ConfigOf resolves an Istio's migration settings with their defaults.
func ConfigOf(us *sailv1.IstioUpdateStrategy) Config {
	cfg := Config{BatchSize: DefaultBatchSize, DelayBetweenBatches: DefaultDelayBetweenBatches, BatchTimeout: DefaultBatchTimeout}
	if us == nil || us.WorkloadMigration == nil {
		return cfg
	}
	wm := us.WorkloadMigration
	if wm.BatchSize != nil && *wm.BatchSize > 0 {
		cfg.BatchSize = int(*wm.BatchSize)
	}
	if wm.DelayBetweenBatchesSeconds != nil && *wm.DelayBetweenBatchesSeconds >= 0 {
		cfg.DelayBetweenBatches = time.Duration(*wm.DelayBetweenBatchesSeconds) * time.Second
	}
	if wm.BatchTimeoutSeconds != nil && *wm.BatchTimeoutSeconds > 0 {
		cfg.BatchTimeout = time.Duration(*wm.BatchTimeoutSeconds) * time.Second
	}
	return cfg
}

// Enabled tells whether an Istio asks for its workloads to be moved.
func Enabled(istio *sailv1.Istio) bool {
	us := istio.Spec.UpdateStrategy
	return us != nil && us.UpdateWorkloads && us.Type == sailv1.UpdateStrategyRevisionBased
}

// Migrator moves workloads between revisions. Pods, namespaces and tags are read from the operator's cache
// (through its indexes); workloads and ReplicaSets are read uncached, and only while a migration runs.
type Migrator struct {
	// Client reads the cache and writes.
	Client client.Client
	// APIReader reads workloads and ReplicaSets from the API server.
	APIReader client.Reader
	// Recorder, when set, records events on the Istio.
	Recorder events.EventRecorder

	mu          sync.Mutex
	deployments map[types.UID]string // ReplicaSet UID -> owning Deployment ("" for none)

	restarts atomic.Int64
}

// Restarts returns how many workload restarts the migrator has requested.
func (m *Migrator) Restarts() int64 { return m.restarts.Load() }

// Step advances the migration of an Istio's workloads to its active revision by at most one batch, updates
// istio.Status.WorkloadMigration and the WorkloadsMigrated condition, and returns when to look again (0: when
// something changes). old names the Istio's other revisions.
func (m *Migrator) Step(ctx context.Context, istio *sailv1.Istio, active *sailv1.IstioRevision, old []string, now time.Time) (time.Duration, error) {
	st := &istio.Status
	if !Enabled(istio) || active == nil {
		st.WorkloadMigration = nil
		meta.RemoveStatusCondition(&st.Conditions, sailv1.ConditionWorkloadsMigrated)
		return 0, nil
	}
	if st.WorkloadMigration == nil || st.WorkloadMigration.TargetRevision != active.Name {
		st.WorkloadMigration = &sailv1.WorkloadMigrationStatus{TargetRevision: active.Name}
	}
	ws := st.WorkloadMigration
	if len(old) == 0 && len(ws.Batch) == 0 {
		ws.Remaining, ws.Skipped = 0, 0
		m.setCondition(istio, metav1.ConditionTrue, sailv1.ReasonWorkloadsMigrated,
			"No older revision of this Istio exists; nothing to move.")
		return 0, nil
	}
	if !status.True(active.Status.Conditions, sailv1.ConditionReady) || active.Status.ObservedGeneration != active.Generation {
		m.setCondition(istio, metav1.ConditionFalse, sailv1.ReasonWaitingForRevision, fmt.Sprintf(
			"Workloads move once the active revision %s is Ready; until then they stay on %s.", active.Name, strings.Join(old, ", ")))
		return 0, nil
	}
	cfg := ConfigOf(istio.Spec.UpdateStrategy)
	wait, err := m.step(ctx, istio, active.Name, old, cfg, now)
	if err != nil {
		m.setCondition(istio, metav1.ConditionFalse, sailv1.ReasonMigrationError, "Moving workloads failed: "+err.Error())
	}
	return wait, err
}

func (m *Migrator) step(ctx context.Context, istio *sailv1.Istio, active string, old []string, cfg Config, now time.Time) (time.Duration, error) {
	ws := istio.Status.WorkloadMigration
	relabelled, err := m.relabelNamespaces(ctx, istio, active, old)
	if err != nil {
		return 0, err
	}
	if relabelled > 0 {
		return time.Second, nil // plan once the cache has the new labels
	}
	if len(ws.Batch) > 0 {
		done, msg, err := m.batchDone(ctx, ws.Batch)
		if err != nil {
			return 0, err
		}
		if !done {
			if ws.BatchStartTime != nil && now.Sub(ws.BatchStartTime.Time) > cfg.BatchTimeout {
				if c := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionWorkloadsMigrated); c == nil || c.Reason != sailv1.ReasonBatchTimedOut {
					m.event(istio, corev1.EventTypeWarning, "WorkloadMigrationStalled",
						"A batch did not roll out within %s: %s. No further batch starts until it does.", cfg.BatchTimeout, msg)
				}
				m.setCondition(istio, metav1.ConditionFalse, sailv1.ReasonBatchTimedOut, fmt.Sprintf(
					"A batch of %d workloads did not roll out within %s: %s. No further batch starts until it does; fix the "+
						"workload or roll it back, and migration goes on by itself.", len(ws.Batch), cfg.BatchTimeout, msg))
				return pollSkipped, nil
			}
			m.setCondition(istio, metav1.ConditionFalse, sailv1.ReasonMigrationInProgress, fmt.Sprintf(
				"Rolling out a batch of %d workloads onto %s (%s); %d migrated, %d remaining.", len(ws.Batch), active, msg, ws.Migrated, ws.Remaining))
			return pollBatch, nil
		}
		ws.Migrated += int32(len(ws.Batch))
		ws.Remaining = max(0, ws.Remaining-int32(len(ws.Batch)))
		ws.Batch, ws.BatchStartTime = nil, nil
		ws.LastBatchCompletionTime = &metav1.Time{Time: now}
		log.FromContext(ctx).Info("workload batch rolled out", "revision", active, "migrated", ws.Migrated)
	}
	if last := ws.LastBatchCompletionTime; last != nil {
		if wait := last.Add(cfg.DelayBetweenBatches).Sub(now); wait > 0 {
			m.setCondition(istio, metav1.ConditionFalse, sailv1.ReasonMigrationInProgress, fmt.Sprintf(
				"Pausing between batches; %d workloads migrated to %s, %d remaining.", ws.Migrated, active, ws.Remaining))
			return wait, nil
		}
	}
	plan, err := m.plan(ctx, active, old)
	if err != nil {
		return 0, err
	}
	batch, err := m.pickBatch(ctx, active, &plan, cfg.BatchSize)
	if err != nil {
		return 0, err
	}
	ws.Skipped = int32(len(plan.Skipped))
	ws.Remaining = int32(len(plan.Workloads))
	if len(batch) == 0 {
		ws.Remaining = 0
		if c := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionWorkloadsMigrated); c == nil || c.Status != metav1.ConditionTrue {
			m.event(istio, corev1.EventTypeNormal, "WorkloadsMigrated", "%d workloads moved to revision %s; %d left alone",
				ws.Migrated, active, ws.Skipped)
		}
		msg := fmt.Sprintf("Every workload that can move runs revision %s (%d restarted).", active, ws.Migrated)
		if len(plan.Skipped) > 0 {
			msg += " Left alone: " + describeSkipped(plan.Skipped)
			m.setCondition(istio, metav1.ConditionTrue, sailv1.ReasonWorkloadsMigrated, msg)
			return pollSkipped, nil
		}
		m.setCondition(istio, metav1.ConditionTrue, sailv1.ReasonWorkloadsMigrated, msg)
		return 0, nil
	}
	for _, w := range batch {
		if err := m.restart(ctx, w, active); err != nil {
			return 0, err
		}
	}
	ws.Batch = batch
	ws.BatchStartTime = &metav1.Time{Time: now}
	names := make([]string, len(batch))
	for i, w := range batch {
		names[i] = w.String()
	}
	log.FromContext(ctx).Info("restarted a batch of workloads onto the active revision", "revision", active, "workloads", names)
	m.event(istio, corev1.EventTypeNormal, "WorkloadsRestarted", "Restarted %d workloads onto revision %s: %s",
		len(batch), active, strings.Join(names, ", "))
	m.setCondition(istio, metav1.ConditionFalse, sailv1.ReasonMigrationInProgress, fmt.Sprintf(
		"Rolling out a batch of %d workloads onto %s; %d migrated, %d remaining.", len(batch), active, ws.Migrated, ws.Remaining))
	return pollBatch, nil
}

// relabelNamespaces points namespaces labelled istio.io/rev=<old revision> at the active revision, except those
// that opted out or use istio-injection (which wins over istio.io/rev).
func (m *Migrator) relabelNamespaces(ctx context.Context, istio *sailv1.Istio, active string, old []string) (int, error) {
	n := 0
	for _, name := range old {
		namespaces, err := revision.Namespaces(ctx, m.Client, name)
		if err != nil {
			return n, err
		}
		for i := range namespaces {
			ns := &namespaces[i]
			labels := ns.GetLabels()
			if labels[revision.LabelRev] != name || labels[revision.LabelInjection] != "" || labels[LabelOptOut] == "disabled" {
				continue
			}
			patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{revision.LabelRev: active}}})
			if err := m.Client.Patch(ctx, ns, client.RawPatch(types.MergePatchType, patch)); client.IgnoreNotFound(err) != nil {
				return n, fmt.Errorf("relabelling namespace %s to istio.io/rev=%s: %w", ns.Name, active, err)
			}
			n++
			log.FromContext(ctx).Info("relabelled a namespace onto the active revision", "namespace", ns.Name, "from", name, "to", active)
			m.event(istio, corev1.EventTypeNormal, "NamespaceRelabelled", "Namespace %s: istio.io/rev %s -> %s", ns.Name, name, active)
		}
	}
	return n, nil
}

// plan lists the pods of the old revisions from the cache and decides which workloads to restart.
func (m *Migrator) plan(ctx context.Context, active string, old []string) (Plan, error) {
	tags := &sailv1.IstioRevisionTagList{}
	if err := m.Client.List(ctx, tags); err != nil {
		return Plan{}, fmt.Errorf("listing revision tags: %w", err)
	}
	tagTarget := map[string]string{}
	for _, t := range tags.Items {
		if t.Status.IstioRevision != "" {
			tagTarget[t.Name] = t.Status.IstioRevision
		}
	}
	resolve := func(name string) string {
		if rev, ok := tagTarget[name]; ok {
			return rev
		}
		return name
	}
	nsLabels := map[string]map[string]string{}
	var planned []Pod
	for _, name := range old {
		pods, err := revision.Pods(ctx, m.Client, name)
		if err != nil {
			return Plan{}, err
		}
		for i := range pods {
			pod := &pods[i]
			labels, ok := nsLabels[pod.Namespace]
			if !ok {
				ns := &metav1.PartialObjectMetadata{}
				ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
				if err := m.Client.Get(ctx, client.ObjectKey{Name: pod.Namespace}, ns); client.IgnoreNotFound(err) != nil {
					return Plan{}, fmt.Errorf("reading namespace %s: %w", pod.Namespace, err)
				}
				labels = ns.GetLabels()
				nsLabels[pod.Namespace] = labels
			}
			owner, err := OwnerOf(pod, m.deploymentOf(ctx))
			if err != nil {
				return Plan{}, err
			}
			planned = append(planned, Pod{Pod: pod, NamespaceLabels: labels, Owner: owner})
		}
	}
	return MakePlan(planned, active, resolve), nil
}

// deploymentOf returns a lookup of the Deployment that owns a ReplicaSet, remembered by ReplicaSet UID.
func (m *Migrator) deploymentOf(ctx context.Context) func(namespace, name string, uid types.UID) (string, error) {
	return func(namespace, name string, uid types.UID) (string, error) {
		m.mu.Lock()
		owner, ok := m.deployments[uid]
		m.mu.Unlock()
		if ok {
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
		owner = ""
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == KindDeployment {
			owner = ref.Name
		}
		m.mu.Lock()
		if m.deployments == nil {
			m.deployments = map[types.UID]string{}
		}
		m.deployments[uid] = owner
		m.mu.Unlock()
		return owner, nil
	}
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

// batchDone tells whether every workload of the batch has rolled out (deleted ones count as done); otherwise a
// message naming those that have not.
func (m *Migrator) batchDone(ctx context.Context, batch []sailv1.WorkloadReference) (bool, string, error) {
	var pending []string
	for _, w := range batch {
		obj, err := m.get(ctx, w)
		if err != nil {
			return false, "", err
		}
		if obj == nil {
			continue
		}
		ready, msg, err := readiness.Current(obj)
		if err != nil {
			return false, "", err
		}
		if !ready {
			pending = append(pending, msg)
		}
	}
	if len(pending) == 0 {
		return true, "", nil
	}
	return false, strings.Join(pending, "; "), nil
}

func (m *Migrator) setCondition(istio *sailv1.Istio, s metav1.ConditionStatus, reason, msg string) {
	status.Set(&istio.Status.Conditions, istio.Generation, sailv1.ConditionWorkloadsMigrated, s, reason, msg)
}

func (m *Migrator) event(istio *sailv1.Istio, eventType, reason, format string, args ...any) {
	if m.Recorder != nil {
		m.Recorder.Eventf(istio, nil, eventType, reason, "MigrateWorkloads", format, args...)
	}
}

// describeSkipped names up to three skipped workloads with their reasons.
func describeSkipped(skipped map[string]string) string {
	keys := make([]string, 0, len(skipped))
	for k := range skipped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for i, k := range keys {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(keys)-3))
			break
		}
		parts = append(parts, k+": "+skipped[k])
	}
	return strings.Join(parts, "; ") + "."
}
