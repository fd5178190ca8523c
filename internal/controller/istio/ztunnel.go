package istio

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/pipeline/values"
)

// trustZTunnel makes the revision's istiod trust the ZTunnel that connects to it (its targetRef names the Istio
// or the revision), wherever that ZTunnel runs, unless the user chose whom istiod trusts (values.TrustZTunnel).
func (r *Reconciler) trustZTunnel(ctx context.Context, istio *sailv1.Istio, revision string, spec *sailv1.IstioRevisionSpec) error {
	zt := &sailv1.ZTunnel{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: sailv1.ZTunnelName}, zt); err != nil {
		return client.IgnoreNotFound(err)
	}
	TrustZTunnel(istio, revision, spec, zt)
	return nil
}

// TrustZTunnel makes the spec of the Istio's revision trust zt when zt's targetRef names the Istio or the
// revision, unless the user chose whom istiod trusts (values.TrustZTunnel).
func TrustZTunnel(istio *sailv1.Istio, revision string, spec *sailv1.IstioRevisionSpec, zt *sailv1.ZTunnel) {
	if targets(zt, istio.Name, revision) {
		values.TrustZTunnel(spec.Values, istio.Spec.Values, zt.Spec.Namespace, values.ZTunnelServiceAccount(zt))
	}
}

// targets says whether a ZTunnel's targetRef names the Istio or its revision.
func targets(zt *sailv1.ZTunnel, istio, revision string) bool {
	ref := zt.Spec.TargetRef
	if ref == nil {
		return false
	}
	return (ref.Kind == sailv1.IstioKind && ref.Name == istio) ||
		(ref.Kind == sailv1.IstioRevisionKind && ref.Name == revision)
}

// istioOfZTunnel maps a ZTunnel to the Istio its targetRef names, directly or through a revision it owns.
func (r *Reconciler) istioOfZTunnel(ctx context.Context, obj client.Object) []reconcile.Request {
	zt, ok := obj.(*sailv1.ZTunnel)
	if !ok || zt.Spec.TargetRef == nil {
		return nil
	}
	name := zt.Spec.TargetRef.Name
	if zt.Spec.TargetRef.Kind == sailv1.IstioRevisionKind {
		rev := &sailv1.IstioRevision{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, rev); err != nil {
			if !apierrors.IsNotFound(err) {
				metrics.WatchLookupFailed(ctx, "istio", "ZTunnel", err)
			}
			return nil // a revision that does not exist yet: its Istio reconciles when it creates it
		}
		owner := metav1.GetControllerOf(rev)
		if owner == nil || owner.Kind != sailv1.IstioKind {
			return nil
		}
		name = owner.Name
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: name}}}
}
