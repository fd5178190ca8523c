package workloads

import (
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// Result is what a step did and what the Istio's status should say about it; this package writes no status.
type Result struct {
	// State is the state the step ended in; on an error, the state whose action failed.
	State State
	// Progress is the new status.workloadMigration; nil when no migration applies (StateDisabled).
	Progress *sailv1.WorkloadMigrationStatus
	// Condition is what the WorkloadsMigrated condition should say. Nil leaves the condition as it is
	// (StateRelabelling), except with StateDisabled, where the condition goes away with the progress.
	Condition *Condition
	// RequeueAfter is when to look again; 0: when something changes.
	RequeueAfter time.Duration
}

// Condition is the status, reason and message of the WorkloadsMigrated condition.
type Condition struct {
	Status  metav1.ConditionStatus
	Reason  string
	Message string
}

// resultOf reports a step that ended in state s.
func resultOf(s State, o Observation) Result {
	if s == StateDisabled {
		return Result{State: s}
	}
	progress := o.Progress
	return Result{State: s, Progress: &progress, Condition: conditionOf(s, o), RequeueAfter: requeueAfter(s, o)}
}

// failed reports a step whose action in state s failed with err.
func failed(s State, o Observation, err error) Result {
	r := resultOf(s, o)
	r.Condition = &Condition{Status: metav1.ConditionFalse, Reason: sailv1.ReasonMigrationError,
		Message: "Moving workloads failed: " + err.Error()}
	r.RequeueAfter = 0
	return r
}

// conditionOf is what the WorkloadsMigrated condition says about a step that ended in state s; nil for none.
func conditionOf(s State, o Observation) *Condition {
	ws := o.Progress
	switch s {
	case StateNothingToMove:
		return migrated("No older revision of this Istio exists; nothing to move.")
	case StateWaitingForRevision:
		return &Condition{metav1.ConditionFalse, sailv1.ReasonWaitingForRevision, fmt.Sprintf(
			"Workloads move once the active revision %s is Ready; until then they stay on %s.", o.Active, strings.Join(o.Old, ", "))}
	case StateBatchTimedOut:
		return &Condition{metav1.ConditionFalse, sailv1.ReasonBatchTimedOut, fmt.Sprintf(
			"A batch of %d workloads did not roll out within %s: %s. No further batch starts until it does; fix the "+
				"workload or roll it back, and migration goes on by itself.", len(ws.Batch), o.Config.BatchTimeout, o.Rollout.Pending)}
	case StateBatchRollingOut:
		return inProgress("Rolling out a batch of %d workloads onto %s (%s); %d migrated, %d remaining.",
			len(ws.Batch), o.Active, o.Rollout.Pending, ws.Migrated, ws.Remaining)
	case StatePausing:
		return inProgress("Pausing between batches; %d workloads migrated to %s, %d remaining.", ws.Migrated, o.Active, ws.Remaining)
	case StateStartingBatch:
		return inProgress("Rolling out a batch of %d workloads onto %s; %d migrated, %d remaining.",
			len(ws.Batch), o.Active, ws.Migrated, ws.Remaining)
	case StateComplete:
		msg := fmt.Sprintf("Every workload that can move runs revision %s (%d restarted).", o.Active, ws.Migrated)
		if skipped := o.Next.Plan.Skipped; len(skipped) > 0 {
			msg += " Left alone: " + describeSkipped(skipped)
		}
		return migrated(msg)
	}
	return nil
}

func migrated(msg string) *Condition {
	return &Condition{Status: metav1.ConditionTrue, Reason: sailv1.ReasonWorkloadsMigrated, Message: msg}
}

func inProgress(format string, args ...any) *Condition {
	return &Condition{Status: metav1.ConditionFalse, Reason: sailv1.ReasonMigrationInProgress, Message: fmt.Sprintf(format, args...)}
}

// requeueAfter is when to look again after a step that ended in state s.
func requeueAfter(s State, o Observation) time.Duration {
	switch s {
	case StateRelabelling:
		return pollRelabeled
	case StateBatchRollingOut, StateStartingBatch:
		return pollBatch
	case StateBatchTimedOut:
		return pollSkipped
	case StatePausing:
		return o.pause()
	case StateComplete:
		if len(o.Next.Plan.Skipped) > 0 {
			return pollSkipped // a skipped workload may become movable without an event the controller watches
		}
	}
	return 0
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
