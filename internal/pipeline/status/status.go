// Package status holds the small pure helpers Sail's controllers use to build conditions and summarise them.
package status

import (
	"context"
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

// State summarises Reconciled and Ready in one word: Pending until Reconciled is known, ReconcileError while it
// is False, then Healthy or NotReady from Ready (a kind without a Ready condition is Healthy once reconciled).
func State(conds []metav1.Condition) sailv1.LifecycleState {
	rec := meta.FindStatusCondition(conds, sailv1.ConditionReconciled)
	ready := meta.FindStatusCondition(conds, sailv1.ConditionReady)
	switch {
	case rec == nil || rec.Status == metav1.ConditionUnknown:
		return sailv1.StatePending
	case rec.Status != metav1.ConditionTrue:
		return sailv1.StateReconcileError
	case ready == nil || ready.Status == metav1.ConditionTrue:
		return sailv1.StateHealthy
	default:
		return sailv1.StateNotReady
	}
}

// Condition types that kstatus (Flux, cli-utils) and Argo CD understand, set only while True.
const (
	// ConditionReconciling is True while the resource is progressing towards Ready.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the resource cannot progress until its spec changes.
	ConditionStalled = "Stalled"
)

// terminalReasons are Reconciled reasons that no retry can fix: the spec must change, or something outside the
// resource must (a namespace created, a conflicting object deleted, a target created). The watches of each
// controller notice the outside change and reconcile the resource again, which then recovers by itself.
var terminalReasons = map[string]bool{
	sailv1.ReasonInvalidSpec: true, sailv1.ReasonRenderError: true, sailv1.ReasonUpgradeRefused: true,
	sailv1.ReasonDowngradeRefused: true, sailv1.ReasonVersionSkew: true,
	sailv1.ReasonOwnershipConflict: true, sailv1.ReasonNameAlreadyExists: true,
	sailv1.ReasonInjectionCollision: true,
	sailv1.ReasonNamespaceNotFound:  true, sailv1.ReasonNamespaceTerminating: true,
	sailv1.ReasonTargetNotFound: true, sailv1.ReasonRefNotFound: true,
}

// Terminal tells whether a Reconciled reason means Stalled: no retry can fix it.
func Terminal(reason string) bool {
	return terminalReasons[reason]
}

// SetKstatus derives Reconciling and Stalled from Reconciled and Ready: Stalled while an error no retry can fix
// blocks progress (Terminal), Reconciling while not reconciled or not ready for any other reason, neither when
// reconciled and ready. A kind without a Ready condition (IstioRevisionTag) is settled once reconciled. Absent
// conditions mean False.
func SetKstatus(conds *[]metav1.Condition, generation int64) {
	rec := meta.FindStatusCondition(*conds, sailv1.ConditionReconciled)
	ready := meta.FindStatusCondition(*conds, sailv1.ConditionReady)
	switch {
	case rec != nil && rec.Status == metav1.ConditionFalse && Terminal(rec.Reason):
		meta.RemoveStatusCondition(conds, ConditionReconciling)
		Set(conds, generation, ConditionStalled, metav1.ConditionTrue, rec.Reason, rec.Message)
	case rec == nil || rec.Status != metav1.ConditionTrue || (ready != nil && ready.Status != metav1.ConditionTrue):
		meta.RemoveStatusCondition(conds, ConditionStalled)
		reason, msg := sailv1.ReasonNotReady, "Waiting for the first reconcile."
		if ready != nil {
			reason, msg = ready.Reason, ready.Message
		}
		if rec != nil && rec.Status != metav1.ConditionTrue {
			reason, msg = rec.Reason, rec.Message
		}
		Set(conds, generation, ConditionReconciling, metav1.ConditionTrue, reason, msg)
	default:
		meta.RemoveStatusCondition(conds, ConditionReconciling)
		meta.RemoveStatusCondition(conds, ConditionStalled)
	}
}

// Patch writes status to the object's status subresource as a JSON merge patch that carries the whole status, so
// that zero values and emptied lists are written too. Fields named in clear are sent as null when empty.
func Patch(ctx context.Context, c client.Client, obj client.Object, status any, clear ...string) error {
	data, err := json.Marshal(status)
	if err != nil {
		return err
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	for _, f := range clear {
		if _, ok := fields[f]; !ok {
			fields[f] = nil
		}
	}
	body, err := json.Marshal(map[string]any{"status": fields})
	if err != nil {
		return err
	}
	return c.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, body))
}

// PatchInventory records an applied-objects inventory in the object's status.inventory right away (before the
// objects are created, so a crash in between cannot leak them) and sets *inv. The API server's answer is not
// decoded into obj, so status fields the caller has changed in memory and writes later are kept; the
// resourceVersion it left the object at is returned.
func PatchInventory(ctx context.Context, c client.Client, obj client.Object, inv *[]sailv1.InventoryEntry, entries []sailv1.InventoryEntry) (string, error) {
	body, err := json.Marshal(map[string]any{"status": map[string]any{"inventory": entries}})
	if err != nil {
		return "", err
	}
	written := obj.DeepCopyObject().(client.Object)
	if err := c.Status().Patch(ctx, written, client.RawPatch(types.MergePatchType, body)); err != nil {
		return "", err
	}
	*inv = entries
	return written.GetResourceVersion(), nil
}
