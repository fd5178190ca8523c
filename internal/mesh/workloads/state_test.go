package workloads

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ago(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(-d)} }

func batchOf(names ...string) []sailv1.WorkloadReference {
	var out []sailv1.WorkloadReference
	for _, n := range names {
		out = append(out, *deploy("app", n))
	}
	return out
}

// ready is an observation of an enabled migration from old to a Ready new revision, its namespaces checked.
func ready(change func(*Observation)) Observation {
	o := Observation{Enabled: true, Active: "new", ActiveReady: true, Old: []string{"old"}, Now: now,
		Progress: sailv1.WorkloadMigrationStatus{TargetRevision: "new"},
		Config:   Config{BatchSize: 2, DelayBetweenBatches: 5 * time.Second, BatchTimeout: time.Minute}, NamespacesChecked: true}
	if change != nil {
		change(&o)
	}
	return o
}

func TestDetermineState(t *testing.T) {
	cases := []struct {
		name string
		obs  Observation
		want State
	}{
		{"updateWorkloads off", ready(func(o *Observation) { o.Enabled = false }), StateDisabled},
		{"no active revision yet", ready(func(o *Observation) { o.Active = "" }), StateDisabled},
		{"no older revision", ready(func(o *Observation) { o.Old = nil }), StateNothingToMove},
		{"no older revision, but a batch in flight", ready(func(o *Observation) {
			o.Old, o.NamespacesChecked, o.Progress.Batch = nil, false, batchOf("a")
		}), StateCheckingNamespaces},
		{"no older revision, after a batch rolled out in this step", ready(func(o *Observation) {
			o.Old, o.Rollout = nil, &BatchRollout{Done: true}
		}), StatePlanning},
		{"active revision not Ready", ready(func(o *Observation) { o.ActiveReady = false }), StateWaitingForRevision},
		{"namespaces not looked up", ready(func(o *Observation) { o.NamespacesChecked = false }), StateCheckingNamespaces},
		{"a namespace names an old revision", ready(func(o *Observation) {
			o.Relabel, o.Progress.Batch = []NamespaceMove{{From: "old"}}, batchOf("a")
		}), StateRelabelling},
		{"a batch not looked at", ready(func(o *Observation) { o.Progress.Batch = batchOf("a") }), StateCheckingBatch},
		{"a batch rolled out", ready(func(o *Observation) {
			o.Progress.Batch, o.Progress.BatchStartTime, o.Rollout = batchOf("a"), ago(time.Hour), &BatchRollout{Done: true}
		}), StateBatchRolledOut},
		{"a batch rolling out", ready(func(o *Observation) {
			o.Progress.Batch, o.Progress.BatchStartTime, o.Rollout = batchOf("a"), ago(time.Minute), &BatchRollout{Pending: "a"}
		}), StateBatchRollingOut},
		{"a batch past its timeout", ready(func(o *Observation) {
			o.Progress.Batch, o.Progress.BatchStartTime, o.Rollout = batchOf("a"), ago(time.Minute+time.Second), &BatchRollout{Pending: "a"}
		}), StateBatchTimedOut},
		{"a batch without a start time never times out", ready(func(o *Observation) {
			o.Progress.Batch, o.Rollout = batchOf("a"), &BatchRollout{Pending: "a"}
		}), StateBatchRollingOut},
		{"within the delay between batches", ready(func(o *Observation) { o.Progress.LastBatchCompletionTime = ago(4 * time.Second) }), StatePausing},
		{"the delay has passed", ready(func(o *Observation) { o.Progress.LastBatchCompletionTime = ago(5 * time.Second) }), StatePlanning},
		{"not planned yet", ready(nil), StatePlanning},
		{"nothing left to restart", ready(func(o *Observation) { o.Next = &NextBatch{} }), StateComplete},
		{"a batch to restart", ready(func(o *Observation) { o.Next = &NextBatch{Batch: batchOf("a")} }), StateStartingBatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(DetermineState(tc.obs)).To(Equal(tc.want))
		})
	}
}

func TestStateTransient(t *testing.T) {
	g := NewWithT(t)
	for _, s := range []State{StateCheckingNamespaces, StateCheckingBatch, StateBatchRolledOut, StatePlanning} {
		g.Expect(s.Transient()).To(BeTrue(), string(s))
	}
	for _, s := range []State{StateDisabled, StateNothingToMove, StateWaitingForRevision, StateRelabelling, StateBatchRollingOut,
		StateBatchTimedOut, StatePausing, StateComplete, StateStartingBatch} {
		g.Expect(s.Transient()).To(BeFalse(), string(s))
	}
}

func TestObserve(t *testing.T) {
	enabled := &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased, UpdateWorkloads: true}
	istio := func(wm *sailv1.WorkloadMigrationStatus, conds ...metav1.Condition) *sailv1.Istio {
		return &sailv1.Istio{Spec: sailv1.IstioSpec{UpdateStrategy: enabled},
			Status: sailv1.IstioStatus{WorkloadMigration: wm, Conditions: conds}}
	}
	rev := func(ready metav1.ConditionStatus, gen, observed int64) *sailv1.IstioRevision {
		r := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "new", Generation: gen}}
		r.Status.ObservedGeneration = observed
		r.Status.Conditions = []metav1.Condition{{Type: sailv1.ConditionReady, Status: ready}}
		return r
	}
	t.Run("progress towards the active revision is kept, as a copy", func(t *testing.T) {
		g := NewWithT(t)
		wm := &sailv1.WorkloadMigrationStatus{TargetRevision: "new", Migrated: 3, Batch: batchOf("a")}
		o := Observe(istio(wm), rev(metav1.ConditionTrue, 2, 2), []string{"old"}, now)
		g.Expect(o).To(Equal(Observation{Enabled: true, Active: "new", ActiveReady: true, Old: []string{"old"},
			Progress: *wm, Config: ConfigOf(enabled), Now: now}))
		o.Progress.Batch[0].Name = "changed"
		g.Expect(wm.Batch[0].Name).To(Equal("a"), "the Istio is only read")
	})
	t.Run("progress towards another revision starts over", func(t *testing.T) {
		o := Observe(istio(&sailv1.WorkloadMigrationStatus{TargetRevision: "older", Migrated: 3}), rev(metav1.ConditionTrue, 1, 1), nil, now)
		NewWithT(t).Expect(o.Progress).To(Equal(sailv1.WorkloadMigrationStatus{TargetRevision: "new"}))
	})
	t.Run("a revision behind its spec is not ready", func(t *testing.T) {
		NewWithT(t).Expect(Observe(istio(nil), rev(metav1.ConditionTrue, 2, 1), nil, now).ActiveReady).To(BeFalse())
	})
	t.Run("a revision not Ready is not ready", func(t *testing.T) {
		NewWithT(t).Expect(Observe(istio(nil), rev(metav1.ConditionFalse, 1, 1), nil, now).ActiveReady).To(BeFalse())
	})
	t.Run("no active revision", func(t *testing.T) {
		g := NewWithT(t)
		o := Observe(istio(&sailv1.WorkloadMigrationStatus{TargetRevision: "new"}), nil, nil, now)
		g.Expect(o.Active).To(BeEmpty())
		g.Expect(o.Progress).To(BeZero())
	})
	t.Run("the previous WorkloadsMigrated condition", func(t *testing.T) {
		c := metav1.Condition{Type: sailv1.ConditionWorkloadsMigrated, Status: metav1.ConditionFalse, Reason: sailv1.ReasonBatchTimedOut}
		o := Observe(istio(nil, metav1.Condition{Type: sailv1.ConditionReady}, c), nil, nil, now)
		NewWithT(t).Expect(o.Previous).To(Equal(&c))
	})
}

func TestResultOf(t *testing.T) {
	inFlight := func(o *Observation) {
		o.Progress.Batch, o.Progress.Migrated, o.Progress.Remaining = batchOf("a", "b"), 4, 7
		o.Rollout = &BatchRollout{Pending: "Deployment app/a is not ready"}
	}
	cases := []struct {
		name            string
		state           State
		obs             Observation
		status          metav1.ConditionStatus
		reason, message string
		requeue         time.Duration
		withoutProgress bool
		noCondition     bool
	}{
		{name: "disabled", state: StateDisabled, obs: ready(nil), withoutProgress: true, noCondition: true},
		{name: "nothing to move", state: StateNothingToMove, obs: ready(func(o *Observation) { o.Old = nil }),
			status: metav1.ConditionTrue, reason: sailv1.ReasonWorkloadsMigrated, message: "No older revision of this Istio exists; nothing to move."},
		{name: "waiting for the revision", state: StateWaitingForRevision, obs: ready(func(o *Observation) { o.Old = []string{"a", "b"} }),
			status: metav1.ConditionFalse, reason: sailv1.ReasonWaitingForRevision,
			message: "Workloads move once the active revision new is Ready; until then they stay on a, b."},
		{name: "relabelling says nothing new", state: StateRelabelling, obs: ready(nil), requeue: time.Second, noCondition: true},
		{name: "a batch rolling out", state: StateBatchRollingOut, obs: ready(inFlight), requeue: 2 * time.Second,
			status: metav1.ConditionFalse, reason: sailv1.ReasonMigrationInProgress,
			message: "Rolling out a batch of 2 workloads onto new (Deployment app/a is not ready); 4 migrated, 7 remaining."},
		{name: "a batch timed out", state: StateBatchTimedOut, obs: ready(inFlight), requeue: 30 * time.Second,
			status: metav1.ConditionFalse, reason: sailv1.ReasonBatchTimedOut,
			message: "A batch of 2 workloads did not roll out within 1m0s: Deployment app/a is not ready. No further batch starts " +
				"until it does; fix the workload or roll it back, and migration goes on by itself."},
		{name: "pausing", state: StatePausing, obs: ready(func(o *Observation) {
			o.Progress.Migrated, o.Progress.Remaining, o.Progress.LastBatchCompletionTime = 4, 7, ago(2*time.Second)
		}), requeue: 3 * time.Second, status: metav1.ConditionFalse, reason: sailv1.ReasonMigrationInProgress,
			message: "Pausing between batches; 4 workloads migrated to new, 7 remaining."},
		{name: "a batch started", state: StateStartingBatch, obs: ready(func(o *Observation) {
			o.Progress.Batch, o.Progress.Migrated, o.Progress.Remaining = batchOf("a"), 4, 7
		}), requeue: 2 * time.Second, status: metav1.ConditionFalse, reason: sailv1.ReasonMigrationInProgress,
			message: "Rolling out a batch of 1 workloads onto new; 4 migrated, 7 remaining."},
		{name: "complete", state: StateComplete, obs: ready(func(o *Observation) { o.Progress.Migrated, o.Next = 4, &NextBatch{} }),
			status: metav1.ConditionTrue, reason: sailv1.ReasonWorkloadsMigrated, message: "Every workload that can move runs revision new (4 restarted)."},
		{name: "complete, some left alone", state: StateComplete, obs: ready(func(o *Observation) {
			o.Next = &NextBatch{Plan: Plan{Skipped: map[string]string{"Pod app/x": "why"}}}
		}), requeue: 30 * time.Second, status: metav1.ConditionTrue, reason: sailv1.ReasonWorkloadsMigrated,
			message: "Every workload that can move runs revision new (0 restarted). Left alone: Pod app/x: why."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r := resultOf(tc.state, tc.obs)
			g.Expect(r.State).To(Equal(tc.state))
			g.Expect(r.RequeueAfter).To(Equal(tc.requeue))
			if tc.withoutProgress {
				g.Expect(r.Progress).To(BeNil())
			} else {
				g.Expect(r.Progress).To(Equal(&tc.obs.Progress))
			}
			if tc.noCondition {
				g.Expect(r.Condition).To(BeNil())
				return
			}
			g.Expect(r.Condition).To(Equal(&Condition{Status: tc.status, Reason: tc.reason, Message: tc.message}))
		})
	}
}

func TestFailed(t *testing.T) {
	g := NewWithT(t)
	o := ready(func(o *Observation) { o.Progress.Migrated = 2; o.Next = &NextBatch{Batch: batchOf("a")} })
	r := failed(StateStartingBatch, o, errors.New("restarting Deployment app/a: boom"))
	g.Expect(r).To(Equal(Result{State: StateStartingBatch, Progress: &o.Progress, Condition: &Condition{Status: metav1.ConditionFalse,
		Reason: sailv1.ReasonMigrationError, Message: "Moving workloads failed: restarting Deployment app/a: boom"}}),
		"the progress made is kept; the error brings a retry with backoff rather than a requeue")
}

func TestRecordBatch(t *testing.T) {
	g := NewWithT(t)
	o := ready(func(o *Observation) {
		o.Progress = sailv1.WorkloadMigrationStatus{TargetRevision: "new", Migrated: 2, Remaining: 3, Skipped: 1,
			Batch: batchOf("a", "b"), BatchStartTime: ago(time.Minute)}
	})
	o.recordBatch()
	g.Expect(o.Progress).To(Equal(sailv1.WorkloadMigrationStatus{TargetRevision: "new", Migrated: 4, Remaining: 1, Skipped: 1,
		LastBatchCompletionTime: &metav1.Time{Time: now}}))
	o.Progress.Batch = batchOf("c", "d")
	o.recordBatch()
	g.Expect(o.Progress.Remaining).To(BeZero(), "never below zero")
}

// TestStep_StatesWithoutAction steps migrations that only report: they read and write nothing, so the Migrator
// needs no client.
func TestStep_StatesWithoutAction(t *testing.T) {
	enabled := &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased, UpdateWorkloads: true}
	active := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "new"}}
	m := &Migrator{}
	t.Run("disabled", func(t *testing.T) {
		g := NewWithT(t)
		istio := &sailv1.Istio{Status: sailv1.IstioStatus{WorkloadMigration: &sailv1.WorkloadMigrationStatus{TargetRevision: "new"}}}
		r, err := m.Step(context.Background(), istio, active, []string{"old"}, now)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r).To(Equal(Result{State: StateDisabled}))
		g.Expect(istio.Status.WorkloadMigration).NotTo(BeNil(), "the Istio is only read")
	})
	t.Run("nothing to move", func(t *testing.T) {
		g := NewWithT(t)
		istio := &sailv1.Istio{Spec: sailv1.IstioSpec{UpdateStrategy: enabled}}
		r, err := m.Step(context.Background(), istio, active, nil, now)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r.State).To(Equal(StateNothingToMove))
		g.Expect(r.Progress).To(Equal(&sailv1.WorkloadMigrationStatus{TargetRevision: "new"}))
		g.Expect(istio.Status.Conditions).To(BeEmpty(), "the Istio is only read")
	})
	t.Run("waiting for the revision", func(t *testing.T) {
		g := NewWithT(t)
		r, err := m.Step(context.Background(), &sailv1.Istio{Spec: sailv1.IstioSpec{UpdateStrategy: enabled}}, active, []string{"old"}, now)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r.State).To(Equal(StateWaitingForRevision))
		g.Expect(r.Condition.Reason).To(Equal(sailv1.ReasonWaitingForRevision))
	})
}
