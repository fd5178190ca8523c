package istio

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
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
	wanted := istio.Name == sailv1.DefaultRevision && istio.Spec.UpdateStrategy != nil &&
		istio.Spec.UpdateStrategy.Type == sailv1.UpdateStrategyRevisionBased
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
