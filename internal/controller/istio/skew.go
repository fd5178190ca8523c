package istio

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/skew"
	"github.com/sail-mesh/sail/internal/metrics"
)

// checkNodeComponents refuses a new version of the revision called name when the installed IstioCNI or ZTunnel
// could not serve it (skew.CheckControlPlane); it returns the condition reason with the error. The IstioCNI and
// ZTunnel watches bring the Istio back once they moved.
func (r *Reconciler) checkNodeComponents(ctx context.Context, name, version string) (string, error) {
	comps, err := NodeComponents(ctx, r.Client)
	if err != nil {
		return sailv1.ReasonReconcileError, err
	}
	if err := skew.CheckControlPlane(name, version, comps); err != nil {
		return sailv1.ReasonVersionSkew, reconcile.TerminalError(err)
	}
	return "", nil
}

// NodeComponents returns the IstioCNI and ZTunnel installed in the cluster with the version each was last
// applied at (status.version; one not applied yet is left out).
func NodeComponents(ctx context.Context, c client.Reader) ([]skew.Component, error) {
	var out []skew.Component
	cni := &sailv1.IstioCNI{}
	switch err := c.Get(ctx, client.ObjectKey{Name: sailv1.IstioCNIName}, cni); {
	case err == nil && cni.Status.Version != "":
		out = append(out, skew.Component{Kind: sailv1.IstioCNIKind, Version: cni.Status.Version})
	case err != nil && !apierrors.IsNotFound(err):
		return nil, err
	}
	zt := &sailv1.ZTunnel{}
	switch err := c.Get(ctx, client.ObjectKey{Name: sailv1.ZTunnelName}, zt); {
	case err == nil && zt.Status.Version != "":
		out = append(out, skew.Component{Kind: sailv1.ZTunnelKind, Version: zt.Status.Version})
	case err != nil && !apierrors.IsNotFound(err):
		return nil, err
	}
	return out, nil
}

// istiosHeldBySkew maps an IstioCNI or ZTunnel to the Istios whose change was refused for version skew, so that
// they retry once the node component moved.
func (r *Reconciler) istiosHeldBySkew(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &sailv1.IstioList{}
	if err := r.Client.List(ctx, list); err != nil {
		metrics.WatchLookupFailed(ctx, "istio", "IstioCNI or ZTunnel", err)
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		c := meta.FindStatusCondition(list.Items[i].Status.Conditions, sailv1.ConditionReconciled)
		if c != nil && c.Reason == sailv1.ReasonVersionSkew {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}
