// Package workloads moves workloads from an Istio's older revisions to its active revision
// (spec.updateStrategy.updateWorkloads): it relabels namespaces that name an old revision, then restarts the
// Deployments, StatefulSets and DaemonSets whose pods still run one, a batch at a time. Each step determines the
// migration's State from what it observes, takes the one small action of that state, and returns a Result; the
// Istio controller writes status.workloadMigration and the WorkloadsMigrated condition from it.
package workloads

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// The migrator reads ReplicaSets (to find their Deployments) and restarts workloads.
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get

// Migrator moves workloads between revisions. Pods, namespaces and tags are read from the operator's cache
// (through its indexes); workloads and ReplicaSets are read uncached, and only while a migration runs.
type Migrator struct {
	// Client reads the cache and writes.
	Client client.Client
	// APIReader reads workloads and ReplicaSets from the API server.
	APIReader client.Reader
	// Recorder, when set, records events on the Istio.
	Recorder events.EventRecorder

	deployments ownerCache
	restarts    atomic.Int64
}

// RememberedReplicaSets returns how many ReplicaSets' Deployments the migrator remembers: those of the pods on an
// old revision when it last planned.
func (m *Migrator) RememberedReplicaSets() int { return m.deployments.len() }

// Restarts returns how many workload restarts the migrator has requested.
func (m *Migrator) Restarts() int64 { return m.restarts.Load() }

// maxStates bounds the states one step goes through; each transient state leads on at most once, so a step
// that goes past it is a bug.
const maxStates = 8

// Step advances the migration of an Istio's workloads to its active revision (nil while there is none) by at
// most one batch, and returns what the Istio's status should say; old names the Istio's other revisions. The
// Istio is only read. On an error the Result still carries the progress made, with a MigrationError condition.
func (m *Migrator) Step(ctx context.Context, istio *sailv1.Istio, active *sailv1.IstioRevision, old []string, now time.Time) (Result, error) {
	s := &step{istio: istio, obs: Observe(istio, active, old, now)}
	state := DetermineState(s.obs)
	for range maxStates {
		if err := m.act(ctx, s, state); err != nil {
			return failed(state, s.obs, err), err
		}
		if !state.Transient() {
			return resultOf(state, s.obs), nil
		}
		state = DetermineState(s.obs)
	}
	err := fmt.Errorf("moving workloads did not settle within %d states (last %s); this is a bug in Sail, please report it", maxStates, state)
	return failed(state, s.obs, err), err
}

// step is one Step in progress: the Istio (for events) and what has been observed so far.
type step struct {
	istio *sailv1.Istio
	obs   Observation
}

// act takes the one action of a state: read what the next state depends on, record progress, or change the
// cluster. The states that only report have none.
func (m *Migrator) act(ctx context.Context, s *step, state State) error {
	switch state {
	case StateCheckingNamespaces:
		return m.checkNamespaces(ctx, s)
	case StateRelabelling:
		return m.relabelNamespaces(ctx, s)
	case StateCheckingBatch:
		return m.checkBatch(ctx, s)
	case StateBatchTimedOut:
		m.warnTimedOut(s)
	case StateBatchRolledOut:
		s.obs.recordBatch()
		log.FromContext(ctx).Info("workload batch rolled out", "revision", s.obs.Active, "migrated", s.obs.Progress.Migrated)
	case StatePlanning:
		return m.planNext(ctx, s)
	case StateComplete:
		m.announceComplete(s)
	case StateStartingBatch:
		return m.startBatch(ctx, s)
	}
	return nil
}

// checkNamespaces looks up the namespaces that still name an old revision.
func (m *Migrator) checkNamespaces(ctx context.Context, s *step) error {
	moves, err := m.staleNamespaces(ctx, s.obs.Active, s.obs.Old)
	if err != nil {
		return err
	}
	s.obs.NamespacesChecked, s.obs.Relabel = true, moves
	return nil
}

// relabelNamespaces points the namespaces that name an old revision at the active one.
func (m *Migrator) relabelNamespaces(ctx context.Context, s *step) error {
	active := s.obs.Active
	for _, mv := range s.obs.Relabel {
		if err := m.relabel(ctx, mv.Namespace, active); err != nil {
			return err
		}
		log.FromContext(ctx).Info("relabelled a namespace onto the active revision", "namespace", mv.Namespace.Name, "from", mv.From, "to", active)
		m.event(s.istio, corev1.EventTypeNormal, "NamespaceRelabelled", "Namespace %s: istio.io/rev %s -> %s", mv.Namespace.Name, mv.From, active)
	}
	return nil
}

// checkBatch looks at how the batch in flight is rolling out.
func (m *Migrator) checkBatch(ctx context.Context, s *step) error {
	rollout, err := m.rollout(ctx, s.obs.Progress.Batch)
	if err != nil {
		return err
	}
	s.obs.Rollout = rollout
	return nil
}

// warnTimedOut records a warning the first time a batch is found timed out.
func (m *Migrator) warnTimedOut(s *step) {
	if p := s.obs.Previous; p == nil || p.Reason != sailv1.ReasonBatchTimedOut {
		m.event(s.istio, corev1.EventTypeWarning, "WorkloadMigrationStalled",
			"A batch did not roll out within %s: %s. No further batch starts until it does.", s.obs.Config.BatchTimeout, s.obs.Rollout.Pending)
	}
}

// recordBatch counts the batch that rolled out as migrated and closes it.
func (o *Observation) recordBatch() {
	ws := &o.Progress
	ws.Migrated += int32(len(ws.Batch))
	ws.Remaining = max(0, ws.Remaining-int32(len(ws.Batch)))
	ws.Batch, ws.BatchStartTime = nil, nil
	ws.LastBatchCompletionTime = &metav1.Time{Time: o.Now}
}

// planNext lists the workloads left to move and picks the next batch.
func (m *Migrator) planNext(ctx context.Context, s *step) error {
	o := &s.obs
	plan, err := m.plan(ctx, o.Active, o.Old)
	if err != nil {
		return err
	}
	batch, err := m.pickBatch(ctx, o.Active, &plan, o.Config.BatchSize)
	if err != nil {
		return err
	}
	o.Next = &NextBatch{Plan: plan, Batch: batch}
	o.Progress.Skipped = int32(len(plan.Skipped))
	o.Progress.Remaining = int32(len(plan.Workloads))
	return nil
}

// announceComplete records an event when a migration has just completed.
func (m *Migrator) announceComplete(s *step) {
	if p := s.obs.Previous; p == nil || p.Status != metav1.ConditionTrue {
		ws := s.obs.Progress
		m.event(s.istio, corev1.EventTypeNormal, "WorkloadsMigrated", "%d workloads moved to revision %s; %d left alone",
			ws.Migrated, s.obs.Active, ws.Skipped)
	}
}

// startBatch restarts the workloads of the next batch onto the active revision.
func (m *Migrator) startBatch(ctx context.Context, s *step) error {
	o := &s.obs
	batch := o.Next.Batch
	for _, w := range batch {
		if err := m.restart(ctx, w, o.Active); err != nil {
			return err
		}
	}
	o.Progress.Batch = batch
	o.Progress.BatchStartTime = &metav1.Time{Time: o.Now}
	restarted := names(batch)
	log.FromContext(ctx).Info("restarted a batch of workloads onto the active revision", "revision", o.Active, "workloads", restarted)
	m.event(s.istio, corev1.EventTypeNormal, "WorkloadsRestarted", "Restarted %d workloads onto revision %s: %s",
		len(batch), o.Active, strings.Join(restarted, ", "))
	return nil
}

// names lists workloads as Kind namespace/name.
func names(batch []sailv1.WorkloadReference) []string {
	out := make([]string, len(batch))
	for i, w := range batch {
		out[i] = w.String()
	}
	return out
}

func (m *Migrator) event(istio *sailv1.Istio, eventType, reason, format string, args ...any) {
	if m.Recorder != nil {
		m.Recorder.Eventf(istio, nil, eventType, reason, "MigrateWorkloads", format, args...)
	}
}
