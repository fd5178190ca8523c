package status

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func TestState(t *testing.T) {
	cases := []struct {
		name              string
		reconciled, ready metav1.ConditionStatus
		want              sailv1.LifecycleState
	}{
		{"not reconciled yet is Pending", "", "", sailv1.StatePending},
		{"a failed reconcile wins", metav1.ConditionFalse, metav1.ConditionTrue, sailv1.StateReconcileError},
		{"reconciled but not ready", metav1.ConditionTrue, metav1.ConditionFalse, sailv1.StateNotReady},
		{"reconciled and ready", metav1.ConditionTrue, metav1.ConditionTrue, sailv1.StateHealthy},
		{"reconciled, without a Ready condition (a tag)", metav1.ConditionTrue, "", sailv1.StateHealthy},
		{"not known whether reconciled is Pending", metav1.ConditionUnknown, metav1.ConditionTrue, sailv1.StatePending},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var conds []metav1.Condition
			if tc.reconciled != "" {
				Set(&conds, 1, sailv1.ConditionReconciled, tc.reconciled, "R", "m")
			}
			if tc.ready != "" {
				Set(&conds, 1, sailv1.ConditionReady, tc.ready, "R", "m")
			}
			NewWithT(t).Expect(State(conds)).To(Equal(tc.want))
		})
	}
}

func TestSet_KeepsTransitionTimeWhileStatusIsUnchanged(t *testing.T) {
	g := NewWithT(t)
	var conds []metav1.Condition
	Set(&conds, 1, sailv1.ConditionReady, metav1.ConditionFalse, "A", "first")
	first := conds[0].LastTransitionTime
	conds[0].LastTransitionTime = metav1.NewTime(first.Add(-60e9))
	Set(&conds, 2, sailv1.ConditionReady, metav1.ConditionFalse, "B", "second")
	g.Expect(conds[0].LastTransitionTime.Time).To(BeTemporally("<", first.Time))
	g.Expect(conds[0].ObservedGeneration).To(Equal(int64(2)))
	g.Expect(conds[0].Message).To(Equal("second"))
}

func TestSetKstatus(t *testing.T) {
	g := NewWithT(t)
	var conds []metav1.Condition
	Set(&conds, 1, sailv1.ConditionReconciled, metav1.ConditionFalse, sailv1.ReasonRenderError, "bad value")
	Set(&conds, 1, sailv1.ConditionReady, metav1.ConditionFalse, sailv1.ReasonNotReady, "not ready")
	SetKstatus(&conds, 1)
	g.Expect(True(conds, ConditionStalled)).To(BeTrue(), "a spec error stalls")
	g.Expect(conds).NotTo(ContainElement(HaveField("Type", ConditionReconciling)))

	Set(&conds, 2, sailv1.ConditionReconciled, metav1.ConditionTrue, sailv1.ReasonReconcileSucceeded, "ok")
	SetKstatus(&conds, 2)
	g.Expect(True(conds, ConditionReconciling)).To(BeTrue(), "applied but not ready is progressing")
	g.Expect(conds).NotTo(ContainElement(HaveField("Type", ConditionStalled)))

	Set(&conds, 2, sailv1.ConditionReady, metav1.ConditionTrue, sailv1.ReasonReady, "ready")
	SetKstatus(&conds, 2)
	g.Expect(conds).NotTo(ContainElement(HaveField("Type", ConditionReconciling)))

	Set(&conds, 3, sailv1.ConditionReconciled, metav1.ConditionFalse, sailv1.ReasonReconcileError, "api down")
	SetKstatus(&conds, 3)
	g.Expect(True(conds, ConditionReconciling)).To(BeTrue(), "a transient error keeps reconciling, not stalled")
}

func TestSetKstatus_TerminalReasonsStall(t *testing.T) {
	for _, reason := range []string{sailv1.ReasonOwnershipConflict, sailv1.ReasonNameAlreadyExists,
		sailv1.ReasonNamespaceNotFound, sailv1.ReasonNamespaceTerminating, sailv1.ReasonTargetNotFound,
		sailv1.ReasonRefNotFound, sailv1.ReasonUpgradeRefused, sailv1.ReasonInvalidSpec} {
		t.Run(reason, func(t *testing.T) {
			g := NewWithT(t)
			conds := []metav1.Condition{{Type: ConditionReconciling, Status: metav1.ConditionTrue, Reason: "Old"}}
			Set(&conds, 1, sailv1.ConditionReconciled, metav1.ConditionFalse, reason, "what to change")
			SetKstatus(&conds, 1)
			g.Expect(True(conds, ConditionStalled)).To(BeTrue())
			g.Expect(conds).To(ContainElement(And(HaveField("Type", ConditionStalled), HaveField("Reason", reason),
				HaveField("Message", "what to change"))))
			g.Expect(conds).NotTo(ContainElement(HaveField("Type", ConditionReconciling)))
		})
	}
}

func TestSetKstatus_WithoutReady(t *testing.T) {
	g := NewWithT(t)
	var conds []metav1.Condition
	Set(&conds, 1, sailv1.ConditionReconciled, metav1.ConditionFalse, sailv1.ReasonWaitingForRevision, "waiting")
	SetKstatus(&conds, 1)
	g.Expect(True(conds, ConditionReconciling)).To(BeTrue(), "waiting is progress, not a stall")
	Set(&conds, 1, sailv1.ConditionReconciled, metav1.ConditionTrue, sailv1.ReasonReconcileSucceeded, "ok")
	SetKstatus(&conds, 1)
	g.Expect(conds).To(HaveLen(1), "a kind without Ready is settled once reconciled")
	Set(&conds, 2, sailv1.ConditionReconciled, metav1.ConditionUnknown, sailv1.ReasonRevisionPending, "pending")
	SetKstatus(&conds, 2)
	g.Expect(conds).To(ContainElement(And(HaveField("Type", ConditionReconciling), HaveField("Reason", sailv1.ReasonRevisionPending))))
}
