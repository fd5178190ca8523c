package istio

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/workloads"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// revWith is a revision named active at generation gen that has applied it, with the given conditions.
func revWith(gen int64, conds ...metav1.Condition) *sailv1.IstioRevision {
	rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "active", Generation: gen}}
	rev.Status.ObservedGeneration = gen
	rev.Status.Conditions = conds
	return rev
}

// behind makes a revision's status describe the generation before its current one.
func behind(rev *sailv1.IstioRevision) *sailv1.IstioRevision {
	rev.Status.ObservedGeneration = rev.Generation - 1
	return rev
}

func c(condType string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: condType, Status: s, Reason: reason, Message: msg}
}

func TestReconciledCondition(t *testing.T) {
	reconciled := c(sailv1.ConditionReconciled, metav1.ConditionTrue, "Reconciled", "All applied.")
	cases := []struct {
		name   string
		active *sailv1.IstioRevision
		reason string
		err    error
		want   metav1.Condition
	}{
		{"a failed reconcile", revWith(1, reconciled), sailv1.ReasonUpgradeRefused, errors.New("too far"),
			c(sailv1.ConditionReconciled, metav1.ConditionFalse, sailv1.ReasonUpgradeRefused, "too far")},
		{"no active revision", nil, "", nil,
			c(sailv1.ConditionReconciled, metav1.ConditionFalse, sailv1.ReasonRevisionNotFound, "The active IstioRevision does not exist yet.")},
		{"the active revision's is mirrored", revWith(1, reconciled), "", nil, reconciled},
		{"the active revision has none yet", revWith(1), "", nil,
			c(sailv1.ConditionReconciled, metav1.ConditionUnknown, sailv1.ReasonNotReady, "The active IstioRevision has not been reconciled yet.")},
		{"the active revision has not reconciled its latest spec", behind(revWith(2, reconciled)), "", nil,
			c(sailv1.ConditionReconciled, metav1.ConditionUnknown, sailv1.ReasonRevisionPending,
				"IstioRevision active has not reconciled its latest spec yet; its Reconciled condition describes an older one.")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			st := &sailv1.IstioStatus{}
			setReconciledCondition(st, 7, tc.active, tc.reason, tc.err)
			g.Expect(st.Conditions).To(HaveLen(1))
			got := st.Conditions[0]
			g.Expect(got.ObservedGeneration).To(Equal(int64(7)))
			g.Expect(c(got.Type, got.Status, got.Reason, got.Message)).To(Equal(tc.want))
		})
	}
}

func TestReadyCondition(t *testing.T) {
	ready := c(sailv1.ConditionReady, metav1.ConditionTrue, "Ready", "istiod is available.")
	behind := revWith(2, ready)
	behind.Status.ObservedGeneration = 1
	cases := []struct {
		name   string
		active *sailv1.IstioRevision
		err    error
		want   metav1.Condition
	}{
		{"a failed reconcile holds readiness back first", nil, errors.New("boom"), c(sailv1.ConditionReady, metav1.ConditionFalse,
			sailv1.ReasonNotReady, "The control plane is not ready because the last reconcile failed; see the Reconciled condition.")},
		{"a failed reconcile, even with a Ready revision", revWith(1, ready), errors.New("boom"), c(sailv1.ConditionReady,
			metav1.ConditionFalse, sailv1.ReasonNotReady, "The control plane is not ready because the last reconcile failed; see the Reconciled condition.")},
		{"no active revision", nil, nil,
			c(sailv1.ConditionReady, metav1.ConditionFalse, sailv1.ReasonRevisionNotFound, "The active IstioRevision does not exist yet.")},
		{"the active revision has not applied its latest spec", behind, nil,
			c(sailv1.ConditionReady, metav1.ConditionFalse, sailv1.ReasonNotReady, "The active IstioRevision has not applied its latest spec yet.")},
		{"the active revision's is mirrored", revWith(1, ready), nil, ready},
		{"the active revision's False is mirrored", revWith(1, c(sailv1.ConditionReady, metav1.ConditionFalse, "NotReady", "istiod is rolling out.")),
			nil, c(sailv1.ConditionReady, metav1.ConditionFalse, "NotReady", "istiod is rolling out.")},
		{"the active revision has not reported yet", revWith(1), nil,
			c(sailv1.ConditionReady, metav1.ConditionUnknown, sailv1.ReasonNotReady, "The active IstioRevision has not reported readiness yet.")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(readyCondition(tc.active, tc.err)).To(Equal(tc.want))
		})
	}
}

func TestDependenciesHealthyCondition(t *testing.T) {
	healthy := c(sailv1.ConditionDependenciesHealthy, metav1.ConditionFalse, "DependencyNotReady", "IstioCNI default is not ready.")
	cases := []struct {
		name   string
		active *sailv1.IstioRevision
		want   metav1.Condition
	}{
		{"no active revision", nil, c(sailv1.ConditionDependenciesHealthy, metav1.ConditionUnknown, sailv1.ReasonRevisionNotFound,
			"The active IstioRevision does not exist yet.")},
		{"the active revision's is mirrored", revWith(1, healthy), healthy},
		{"the active revision has none yet", revWith(1), c(sailv1.ConditionDependenciesHealthy, metav1.ConditionUnknown,
			sailv1.ReasonNotReady, "The active IstioRevision has not reported its dependencies yet.")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(dependenciesHealthyCondition(tc.active)).To(Equal(tc.want))
		})
	}
}

func TestSetWorkloadMigration(t *testing.T) {
	previous := c(sailv1.ConditionWorkloadsMigrated, metav1.ConditionFalse, sailv1.ReasonMigrationInProgress, "Rolling out.")
	progress := &sailv1.WorkloadMigrationStatus{TargetRevision: "active", Migrated: 3}
	newProgress := &sailv1.WorkloadMigrationStatus{TargetRevision: "active", Migrated: 5}
	cases := []struct {
		name         string
		mig          *workloads.Result
		wantProgress *sailv1.WorkloadMigrationStatus
		want         *metav1.Condition
	}{
		{"the step did not run: both stay", nil, progress, &previous},
		{"no migration applies: both go", &workloads.Result{State: workloads.StateDisabled}, nil, nil},
		{"a step with nothing new to say keeps the condition", &workloads.Result{State: workloads.StateRelabelling, Progress: newProgress},
			newProgress, &previous},
		{"a step's condition is set", &workloads.Result{State: workloads.StateComplete, Progress: newProgress,
			Condition: &workloads.Condition{Status: metav1.ConditionTrue, Reason: sailv1.ReasonWorkloadsMigrated, Message: "Done."}},
			newProgress, ptrTo(c(sailv1.ConditionWorkloadsMigrated, metav1.ConditionTrue, sailv1.ReasonWorkloadsMigrated, "Done."))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			st := &sailv1.IstioStatus{WorkloadMigration: progress, Conditions: []metav1.Condition{previous}}
			setWorkloadMigration(st, tc.mig)
			setWorkloadsMigratedCondition(st, 1, tc.mig)
			g.Expect(st.WorkloadMigration).To(Equal(tc.wantProgress))
			got := meta.FindStatusCondition(st.Conditions, sailv1.ConditionWorkloadsMigrated)
			if tc.want == nil {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got).NotTo(BeNil())
			g.Expect(c(got.Type, got.Status, got.Reason, got.Message)).To(Equal(*tc.want))
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestSetRevisionCounts(t *testing.T) {
	g := NewWithT(t)
	ready := c(sailv1.ConditionReady, metav1.ConditionTrue, "Ready", "")
	unused := c(sailv1.ConditionInUse, metav1.ConditionFalse, "NotInUse", "")
	used := c(sailv1.ConditionInUse, metav1.ConditionTrue, "InUse", "")
	revs := []sailv1.IstioRevision{*revWith(1, ready, used), *revWith(1, ready, unused), *revWith(1, unused), *revWith(1)}
	st := &sailv1.IstioStatus{}
	setRevisionCounts(st, revs)
	g.Expect(st.Revisions).To(Equal(sailv1.RevisionSummary{Total: 4, Ready: 2, InUse: 2}), "a revision whose use is unknown counts as in use")
	setRevisionCounts(st, nil)
	g.Expect(st.Revisions).To(Equal(sailv1.RevisionSummary{}))
}

func TestSetVersionAndActiveRevisionName(t *testing.T) {
	g := NewWithT(t)
	st := &sailv1.IstioStatus{Version: "v1.30.0", ActiveRevisionName: "old"}
	setVersion(st, "")
	setActiveRevisionName(st, nil)
	g.Expect(st.Version).To(Equal("v1.30.0"), "a version that did not resolve leaves the last one")
	g.Expect(st.ActiveRevisionName).To(Equal("old"), "a revision that does not exist yet leaves the last one")
	setVersion(st, "v1.31.0")
	setActiveRevisionName(st, revWith(1))
	g.Expect(st.Version).To(Equal("v1.31.0"))
	g.Expect(st.ActiveRevisionName).To(Equal("active"))
}

func TestSummarize(t *testing.T) {
	reconciled := c(sailv1.ConditionReconciled, metav1.ConditionTrue, "Reconciled", "")
	ready := c(sailv1.ConditionReady, metav1.ConditionTrue, "Ready", "")
	notReady := c(sailv1.ConditionReady, metav1.ConditionFalse, "NotReady", "istiod is rolling out.")
	cases := []struct {
		name        string
		reconciled  metav1.Condition
		active      *sailv1.IstioRevision
		err         error
		state       sailv1.LifecycleState
		reconciling bool
		stalled     bool
	}{
		{"healthy", reconciled, revWith(1, ready), nil, sailv1.StateHealthy, false, false},
		{"not ready yet", reconciled, revWith(1, notReady), nil, sailv1.StateNotReady, true, false},
		{"a retryable failure", c(sailv1.ConditionReconciled, metav1.ConditionFalse, sailv1.ReasonReconcileError, "conflict"),
			revWith(1, ready), errors.New("conflict"), sailv1.StateReconcileError, true, false},
		{"a spec error", c(sailv1.ConditionReconciled, metav1.ConditionFalse, sailv1.ReasonInvalidSpec, "no such version"),
			nil, reconcile.TerminalError(errors.New("no such version")), sailv1.StateReconcileError, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			st := &sailv1.IstioStatus{Conditions: []metav1.Condition{tc.reconciled,
				c(status.ConditionReconciling, metav1.ConditionTrue, "Old", ""), c(status.ConditionStalled, metav1.ConditionTrue, "Old", "")}}
			summarize(st, 1, tc.active, tc.err)
			g.Expect(st.State).To(Equal(tc.state))
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, sailv1.ConditionReady)).To(Equal(tc.state == sailv1.StateHealthy))
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, status.ConditionReconciling)).To(Equal(tc.reconciling))
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, status.ConditionStalled)).To(Equal(tc.stalled))
		})
	}
}

func TestSetStatus(t *testing.T) {
	g := NewWithT(t)
	ready := c(sailv1.ConditionReady, metav1.ConditionTrue, "Ready", "istiod is available.")
	revs := []sailv1.IstioRevision{*revWith(3, ready, c(sailv1.ConditionReconciled, metav1.ConditionTrue, "Reconciled", ""),
		c(sailv1.ConditionDependenciesHealthy, metav1.ConditionTrue, "Healthy", ""))}
	st := &sailv1.IstioStatus{}
	setStatus(st, 5, outcome{version: "v1.31.0", active: "active", revisions: revs,
		migration: &workloads.Result{State: workloads.StateDisabled}})
	g.Expect(st.Version).To(Equal("v1.31.0"))
	g.Expect(st.ActiveRevisionName).To(Equal("active"))
	g.Expect(st.ObservedGeneration).To(Equal(int64(5)))
	g.Expect(st.State).To(Equal(sailv1.StateHealthy))
	g.Expect(st.Revisions).To(Equal(sailv1.RevisionSummary{Total: 1, Ready: 1, InUse: 1}))
	var types []string
	for _, cond := range st.Conditions {
		g.Expect(cond.ObservedGeneration).To(Equal(int64(5)), cond.Type)
		types = append(types, cond.Type)
	}
	g.Expect(types).To(ConsistOf(sailv1.ConditionReconciled, sailv1.ConditionReady, sailv1.ConditionDependenciesHealthy))
}

func TestSetStatus_KeepsReadyTransitionTimeWhileNotReady(t *testing.T) {
	g := NewWithT(t)
	since := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	st := &sailv1.IstioStatus{Conditions: []metav1.Condition{{Type: sailv1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: sailv1.ReasonNotReady, LastTransitionTime: since}}}
	revs := []sailv1.IstioRevision{*revWith(1, c(sailv1.ConditionReady, metav1.ConditionTrue, "Ready", ""))}
	setStatus(st, 1, outcome{active: "active", revisions: revs, err: errors.New("boom"), reason: sailv1.ReasonReconcileError})
	got := meta.FindStatusCondition(st.Conditions, sailv1.ConditionReady)
	g.Expect(got.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(got.LastTransitionTime).To(Equal(since), "Ready is set once per reconcile, so it never flips through True")
}

func TestOutcomeFail(t *testing.T) {
	g := NewWithT(t)
	var out outcome
	out.fail(sailv1.ReasonInvalidSpec, nil)
	g.Expect(out.err).NotTo(HaveOccurred())
	g.Expect(out.reason).To(BeEmpty())
	first, second := errors.New("first"), errors.New("second")
	out.fail(sailv1.ReasonUpgradeRefused, first)
	out.fail(sailv1.ReasonReconcileError, second)
	g.Expect(out.reason).To(Equal(sailv1.ReasonUpgradeRefused), "the first failure's reason is reported")
	g.Expect(out.err).To(MatchError(first))
	g.Expect(out.err).To(MatchError(second))
}

func TestSooner(t *testing.T) {
	g := NewWithT(t)
	g.Expect(sooner(0, 0)).To(BeZero())
	g.Expect(sooner(0, time.Second)).To(Equal(time.Second))
	g.Expect(sooner(time.Second, 0)).To(Equal(time.Second))
	g.Expect(sooner(2*time.Second, time.Second)).To(Equal(time.Second))
	g.Expect(sooner(time.Second, 2*time.Second)).To(Equal(time.Second))
}
