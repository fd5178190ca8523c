package istio

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// reconcileDefaultTag keeps namespaces labelled istio-injection=enabled working for a RevisionBased Istio named
// default: its revisions are named after their versions, so a managed IstioRevisionTag named default follows the
// active revision. A default tag the user created is left alone; with any other strategy or name the managed
// tag is removed (an InPlace revision named default serves those namespaces itself).
func (r *Reconciler) reconcileDefaultTag(ctx context.Context, istio *sailv1.Istio) error {
	tag := &sailv1.IstioRevisionTag{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: sailv1.DefaultRevision}, tag)
	if client.IgnoreNotFound(err) != nil {
		return err
	}
	exists := err == nil
	ours := exists && metav1.IsControlledBy(tag, istio)
	wanted := wantsDefaultTag(istio)
	switch {
	case wanted && !exists:
		return r.createDefaultTag(ctx, istio)
	case !wanted && ours:
		if err := r.Client.Delete(ctx, tag); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting the managed default IstioRevisionTag: %w", err)
		}
	}
	return nil
}

func (r *Reconciler) createDefaultTag(ctx context.Context, istio *sailv1.Istio) error {
	tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: sailv1.DefaultRevision},
		Spec: sailv1.IstioRevisionTagSpec{TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: istio.Name}}}
	if err := controllerutil.SetControllerReference(istio, tag, r.Client.Scheme()); err != nil {
		return err
	}
	if err := r.Client.Create(ctx, tag); err != nil {
		return fmt.Errorf("creating the managed default IstioRevisionTag: %w", err)
	}
	r.event(istio, corev1.EventTypeNormal, "DefaultTagCreated",
		"Created IstioRevisionTag default, which follows the active revision for namespaces labelled istio-injection=enabled")
	return nil
}

// defaultTag reconciles the managed default tag when reconcile is true (the control plane's change went
// through), and returns the DefaultTagReconciled condition: DefaultTagError with the error when the tag could not
// be created, deleted or read, else the tag's own state (defaultTagCondition).
func (r *Reconciler) defaultTag(ctx context.Context, istio *sailv1.Istio, reconcile bool) (*metav1.Condition, error) {
	var err error
	if reconcile {
		err = r.reconcileDefaultTag(ctx, istio)
	}
	var c *metav1.Condition
	if err == nil {
		c, err = r.defaultTagCondition(ctx, istio)
	}
	if err != nil {
		failed := cond(sailv1.ConditionDefaultTagReconciled, metav1.ConditionFalse, sailv1.ReasonDefaultTagError,
			err.Error()+"; retrying. Namespaces labelled istio-injection=enabled may not follow the active revision until it succeeds.")
		return &failed, err
	}
	return c, nil
}

// wantsDefaultTag tells whether the Istio manages the IstioRevisionTag default: RevisionBased and named default.
func wantsDefaultTag(istio *sailv1.Istio) bool {
	return istio.Name == sailv1.DefaultRevision && istio.Spec.UpdateStrategy != nil &&
		istio.Spec.UpdateStrategy.Type == sailv1.UpdateStrategyRevisionBased
}

// defaultTagCondition returns the Istio's DefaultTagReconciled condition from the IstioRevisionTag default: its
// Reconciled condition (e.g. WaitingForRevision while it waits to take the name over from the InPlace revision
// named default, NameAlreadyExists when another revision keeps the name), so that what keeps
// istio-injection=enabled namespaces from the active revision shows on the Istio. Nil when the Istio manages no
// default tag.
func (r *Reconciler) defaultTagCondition(ctx context.Context, istio *sailv1.Istio) (*metav1.Condition, error) {
	if !wantsDefaultTag(istio) {
		return nil, nil
	}
	tag := &sailv1.IstioRevisionTag{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: sailv1.DefaultRevision}, tag); err != nil {
		if apierrors.IsNotFound(err) {
			c := cond(sailv1.ConditionDefaultTagReconciled, metav1.ConditionUnknown, sailv1.ReasonNotReady,
				"IstioRevisionTag default does not exist yet; the Istio creates it.")
			return &c, nil
		}
		return nil, err
	}
	rec := meta.FindStatusCondition(tag.Status.Conditions, sailv1.ConditionReconciled)
	if rec == nil {
		c := cond(sailv1.ConditionDefaultTagReconciled, metav1.ConditionUnknown, sailv1.ReasonNotReady,
			"IstioRevisionTag default has not been reconciled yet.")
		return &c, nil
	}
	prefix := "IstioRevisionTag default: "
	if !metav1.IsControlledBy(tag, istio) {
		prefix = "IstioRevisionTag default was not created by this Istio and is left alone: "
	}
	c := cond(sailv1.ConditionDefaultTagReconciled, rec.Status, rec.Reason, prefix+rec.Message)
	return &c, nil
}
