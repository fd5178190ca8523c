// Package status holds the small pure helpers Sail's controllers use to build conditions and summarise them.
package status

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// Set sets a condition of the given generation in conds; the transition time only moves when the status does.
func Set(conds *[]metav1.Condition, generation int64, condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: message, ObservedGeneration: generation,
	})
}

// True reports whether condition condType is True.
func True(conds []metav1.Condition, condType string) bool {
	return meta.IsStatusConditionTrue(conds, condType)
}

// State summarises Reconciled and Ready in one word.
func State(conds []metav1.Condition) sailv1.LifecycleState {
	rec := meta.FindStatusCondition(conds, sailv1.ConditionReconciled)
	switch {
	case rec == nil:
		return sailv1.StatePending
	case rec.Status != metav1.ConditionTrue:
		return sailv1.StateReconcileError
	case True(conds, sailv1.ConditionReady):
		return sailv1.StateHealthy
	default:
		return sailv1.StateNotReady
	}
}
