package workloads

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// State is where a migration stands, as DetermineState reads it from an Observation. A step acts on one state at
// a time: the transient states (see Transient) read something or record progress and lead to the next state
// within the same step; every other state ends the step and is reported.
type State string

// The states of a migration, in the order a migration usually goes through them.
const (
	// StateDisabled: updateWorkloads is off, or the Istio has no active revision yet; no migration is reported.
	StateDisabled State = "Disabled"
	// StateNothingToMove: the Istio has no older revision, and no batch was in flight when the step began.
	StateNothingToMove State = "NothingToMove"
	// StateWaitingForRevision: the active revision is not Ready for its latest spec; nothing moves yet.
	StateWaitingForRevision State = "WaitingForRevision"
	// StateCheckingNamespaces (transient): the namespaces that name an old revision have not been looked up yet.
	StateCheckingNamespaces State = "CheckingNamespaces"
	// StateRelabelling: namespaces still name an old revision; they are pointed at the active one before planning.
	StateRelabelling State = "Relabelling"
	// StateCheckingBatch (transient): a batch was started and its rollout has not been looked at yet.
	StateCheckingBatch State = "CheckingBatch"
	// StateBatchRollingOut: the batch is still rolling out, within the batch timeout.
	StateBatchRollingOut State = "BatchRollingOut"
	// StateBatchTimedOut: the batch did not roll out within the batch timeout; no further batch starts.
	StateBatchTimedOut State = "BatchTimedOut"
	// StateBatchRolledOut (transient): every workload of the batch rolled out; it is counted as migrated.
	StateBatchRolledOut State = "BatchRolledOut"
	// StatePausing: the delay between batches has not passed yet.
	StatePausing State = "Pausing"
	// StatePlanning (transient): the workloads left to move have not been listed yet.
	StatePlanning State = "Planning"
	// StateComplete: every workload that a restart can move runs the active revision.
	StateComplete State = "Complete"
	// StateStartingBatch: the next batch is picked; its workloads are restarted.
	StateStartingBatch State = "StartingBatch"
)

// Transient tells whether a step goes on after acting on the state rather than ending in it.
func (s State) Transient() bool {
	switch s {
	case StateCheckingNamespaces, StateCheckingBatch, StateBatchRolledOut, StatePlanning:
		return true
	}
	return false
}

// Observation is what a step knows about a migration. The first fields come from the Istio and its revisions
// (Observe); the last ones are read from the cluster only once the state asks for them.
type Observation struct {
	// Enabled tells whether the Istio asks for its workloads to be moved.
	Enabled bool
	// Active names the active revision, "" while there is none.
	Active string
	// ActiveReady tells whether the active revision is Ready for its latest spec.
	ActiveReady bool
	// Old names the Istio's other revisions.
	Old []string
	// Progress is the migration's progress towards Active (status.workloadMigration); a step updates it.
	Progress sailv1.WorkloadMigrationStatus
	// Config is the resolved spec.updateStrategy.workloadMigration.
	Config Config
	// Now is the time of the step.
	Now time.Time
	// Previous is the WorkloadsMigrated condition as the Istio had it before the step, nil when absent.
	Previous *metav1.Condition

	// NamespacesChecked tells whether Relabel has been looked up.
	NamespacesChecked bool
	// Relabel lists the namespaces that still name an old revision and are to name the active one.
	Relabel []NamespaceMove
	// Rollout is how the batch in Progress.Batch is rolling out; nil until looked at.
	Rollout *BatchRollout
	// Next is the plan for the next batch; nil until made.
	Next *NextBatch
}

// NamespaceMove is a namespace whose istio.io/rev label names an old revision.
type NamespaceMove struct {
	Namespace *metav1.PartialObjectMetadata
	// From is the old revision it names.
	From string
}

// BatchRollout is how the batch of a migration is rolling out.
type BatchRollout struct {
	// Done tells whether every workload of the batch has rolled out (deleted ones count as done).
	Done bool
	// Pending describes those that have not.
	Pending string
}

// NextBatch is what planning found: the workloads left to move and those to restart now.
type NextBatch struct {
	// Plan lists the workloads left to move (the batch included) and the skipped ones with their reasons.
	Plan Plan
	// Batch is the workloads to restart now; empty when nothing is left to move.
	Batch []sailv1.WorkloadReference
}

// Observe gathers what the Istio and its revisions tell about the migration to the active revision (nil while
// there is none); old names the Istio's other revisions. Progress towards another target starts over.
func Observe(istio *sailv1.Istio, active *sailv1.IstioRevision, old []string, now time.Time) Observation {
	o := Observation{Enabled: Enabled(istio), Old: old, Config: ConfigOf(istio.Spec.UpdateStrategy), Now: now}
	o.Previous = meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionWorkloadsMigrated)
	if active == nil {
		return o
	}
	o.Active = active.Name
	o.ActiveReady = status.True(active.Status.Conditions, sailv1.ConditionReady) && active.Status.ObservedGeneration == active.Generation
	o.Progress = sailv1.WorkloadMigrationStatus{TargetRevision: active.Name}
	if wm := istio.Status.WorkloadMigration; wm != nil && wm.TargetRevision == active.Name {
		o.Progress = *wm.DeepCopy()
	}
	return o
}

// DetermineState reads where the migration stands from what has been observed.
func DetermineState(o Observation) State {
	switch {
	case !o.Enabled || o.Active == "":
		return StateDisabled
	case len(o.Old) == 0 && len(o.Progress.Batch) == 0 && o.Rollout == nil:
		return StateNothingToMove // a batch that rolled out during this step is counted and reported first
	case !o.ActiveReady:
		return StateWaitingForRevision
	case !o.NamespacesChecked:
		return StateCheckingNamespaces
	case len(o.Relabel) > 0:
		return StateRelabelling
	case len(o.Progress.Batch) > 0:
		return batchState(o)
	}
	return nextBatchState(o)
}

// batchState is the state of a migration with a batch in flight.
func batchState(o Observation) State {
	start := o.Progress.BatchStartTime
	switch {
	case o.Rollout == nil:
		return StateCheckingBatch
	case o.Rollout.Done:
		return StateBatchRolledOut
	case start != nil && o.Now.Sub(start.Time) > o.Config.BatchTimeout:
		return StateBatchTimedOut
	}
	return StateBatchRollingOut
}

// nextBatchState is the state of a migration between batches.
func nextBatchState(o Observation) State {
	switch {
	case o.pause() > 0:
		return StatePausing
	case o.Next == nil:
		return StatePlanning
	case len(o.Next.Batch) == 0:
		return StateComplete
	}
	return StateStartingBatch
}

// pause is how long the delay between batches still lasts.
func (o Observation) pause() time.Duration {
	last := o.Progress.LastBatchCompletionTime
	if last == nil {
		return 0
	}
	return last.Add(o.Config.DelayBetweenBatches).Sub(o.Now)
}
