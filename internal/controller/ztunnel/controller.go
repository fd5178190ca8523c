// Package ztunnel reconciles the ZTunnel: it resolves the control plane revision its targetRef names, renders
// Istio's ztunnel chart with that revision's values under the ZTunnel's own, applies the result with server-side
// apply, prunes what is no longer rendered, removes everything on deletion and reports the readiness of the
// ztunnel DaemonSet.
package ztunnel

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/mesh/skew"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Permissions of this controller (the objects of the ztunnel chart that internal/operator/rbac.go does not cover).
//
// +kubebuilder:rbac:groups=sailoperator.io,resources=ztunnels,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=sailoperator.io,resources=ztunnels/status,verbs=patch
// +kubebuilder:rbac:groups=sailoperator.io,resources=ztunnels/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=daemonsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas,verbs=get;list;watch;create;patch;delete

// Finalizer keeps the ZTunnel until the objects applied for it are deleted.
const Finalizer = "sailoperator.io/ztunnel-cleanup"

// ReleaseName is the Helm release name the ztunnel chart is rendered with.
const ReleaseName = "ztunnel"

// Reconciler reconciles the ZTunnel. It is the lifecycle.Kind of ZTunnels: the lifecycle.Reconciler runs the
// reconcile, this type says what is particular to the ZTunnel.
type Reconciler struct {
	lifecycle.Deps

	// base runs the reconcile; SetupWithManager sets it.
	base *lifecycle.Reconciler[*sailv1.ZTunnel]
}

type scope = lifecycle.Scope[*sailv1.ZTunnel]

// Reconcile moves the ZTunnel towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	return r.base.Reconcile(ctx, req)
}

// NewObject returns an empty ZTunnel.
func (r *Reconciler) NewObject() *sailv1.ZTunnel { return &sailv1.ZTunnel{} }

// StatusOf points at the ZTunnel's status.
func (r *Reconciler) StatusOf(zt *sailv1.ZTunnel) lifecycle.Status {
	st := &zt.Status
	return lifecycle.Status{All: st, Conditions: &st.Conditions, ObservedGeneration: &st.ObservedGeneration,
		Inventory: &st.Inventory, Clear: []string{"version", "istioRevision", "inventory"}}
}

// Refuse refuses a ZTunnel not named default: the CRD rejects other names, this guards against an outdated CRD.
func (r *Reconciler) Refuse(zt *sailv1.ZTunnel) error {
	if zt.Name != sailv1.ZTunnelName {
		return fmt.Errorf("a ZTunnel must be named %s; this one is ignored", sailv1.ZTunnelName)
	}
	return nil
}

// Resolve resolves and checks the version, resolves the target revision, checks the version skew against the
// control planes and checks the namespace.
func (r *Reconciler) Resolve(ctx context.Context, s *scope) (lifecycle.Plan, error) {
	zt := s.Obj
	version, err := r.Versions.Resolve(zt.Spec.Version)
	if err == nil {
		err = checkVersion(version)
	}
	if err != nil {
		s.Outcome.Fail(sailv1.ReasonInvalidSpec, err)
		return lifecycle.Plan{}, reconcile.TerminalError(err)
	}
	rev, reason, missing, err := r.target(ctx, zt)
	if err != nil {
		s.Outcome.Fail(sailv1.ReasonReconcileError, err)
		return lifecycle.Plan{}, err
	}
	if missing != "" {
		zt.Status.IstioRevision = ""
		s.Outcome.Fail(reason, errors.New(missing))
		return lifecycle.Plan{}, nil // the Istio and IstioRevision watches bring us back
	}
	if reason, err := r.checkSkew(ctx, version.Name, rev); err != nil {
		s.Outcome.Fail(reason, err)
		if reason == sailv1.ReasonReconcileError {
			return lifecycle.Plan{}, err
		}
		return lifecycle.Plan{}, nil // the IstioRevision watch brings us back
	}
	zt.Status.Version = version.Name
	zt.Status.IstioRevision = ""
	key := []string{string(r.Platform)}
	if rev != nil {
		zt.Status.IstioRevision = rev.Name
		key = append(key, string(rev.UID), fmt.Sprint(rev.Generation))
	}
	if ok, err := s.RequireNamespace(ctx, zt.Spec.Namespace); !ok {
		return lifecycle.Plan{}, err
	}
	return lifecycle.Plan{
		Applied:   "ztunnel " + version.Name,
		Namespace: zt.Spec.Namespace,
		Key:       key,
		Render:    func() ([]*unstructured.Unstructured, error) { return r.Render(zt, rev) },
		Ready:     "ztunnel is ready on every node.",
	}, nil
}

// checkSkew checks version against the control planes the ZTunnel serves (skew.CheckComponent): its target
// revision, or every IstioRevision without a targetRef. A refused version is not applied: the previous one keeps
// running. It returns the condition reason with the error.
func (r *Reconciler) checkSkew(ctx context.Context, version string, target *sailv1.IstioRevision) (string, error) {
	var planes []skew.ControlPlane
	if target != nil {
		planes = []skew.ControlPlane{skew.ControlPlaneOf(target)}
	} else {
		var err error
		if planes, err = skew.ControlPlanes(ctx, r.Client); err != nil {
			return sailv1.ReasonReconcileError, err
		}
	}
	if err := skew.CheckComponent(sailv1.ZTunnelKind, version, planes); err != nil {
		return sailv1.ReasonVersionSkew, err
	}
	return "", nil
}

// SetStatus sets Reconciled, Ready and the state.
func (r *Reconciler) SetStatus(_ context.Context, s *scope) error {
	s.Obj.Status.State = s.ReconciledAndReady()
	return nil
}

// Leftovers renders the ZTunnel's objects for its deletion, with the target revision's values.
func (r *Reconciler) Leftovers(ctx context.Context, zt *sailv1.ZTunnel) (string, lifecycle.RenderFunc) {
	return zt.Spec.Namespace, func() ([]*unstructured.Unstructured, error) {
		rev, _, _, err := r.target(ctx, zt)
		if err != nil || (zt.Spec.TargetRef != nil && rev == nil) {
			return nil, errors.New("the target revision is unknown")
		}
		return r.Render(zt, rev)
	}
}

// target returns the IstioRevision the ZTunnel's targetRef resolves to (nil without a targetRef), or a reason and
// a message saying what is missing: TargetNotFound (Stalled until the target is created) when the Istio or
// IstioRevision it names does not exist, WaitingForRevision while the Istio it names has no active revision.
func (r *Reconciler) target(ctx context.Context, zt *sailv1.ZTunnel) (*sailv1.IstioRevision, string, string, error) {
	ref := zt.Spec.TargetRef
	if ref == nil {
		return nil, "", "", nil
	}
	revName, reason := ref.Name, sailv1.ReasonTargetNotFound
	if ref.Kind == sailv1.IstioKind {
		istio := &sailv1.Istio{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: ref.Name}, istio); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, reason, fmt.Sprintf("Istio %q, named by spec.targetRef, does not exist; create it or "+
					"change spec.targetRef.", ref.Name), nil
			}
			return nil, "", "", err
		}
		revName, reason = istio.Status.ActiveRevisionName, sailv1.ReasonWaitingForRevision
		if revName == "" {
			return nil, reason, fmt.Sprintf("Istio %q, named by spec.targetRef, has no active revision yet.", ref.Name), nil
		}
	}
	rev := &sailv1.IstioRevision{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: revName}, rev); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, reason, fmt.Sprintf("IstioRevision %q, the target of spec.targetRef, does not exist; create "+
				"it or change spec.targetRef.", revName), nil
		}
		return nil, "", "", err
	}
	return rev, "", "", nil
}

// Render returns the ztunnel chart's objects for the ZTunnel's spec and the target revision (nil for none).
func (r *Reconciler) Render(zt *sailv1.ZTunnel, rev *sailv1.IstioRevision) ([]*unstructured.Unstructured, error) {
	version, err := r.Versions.Resolve(zt.Spec.Version)
	if err != nil {
		return nil, err
	}
	var inherited values.Map
	if rev != nil {
		if inherited, err = values.InheritedByZTunnel(rev, r.Versions); err != nil {
			return nil, err
		}
	}
	vals, err := values.ForZTunnelChart(version, r.Platform, inherited, zt.Spec.Values)
	if err != nil {
		return nil, err
	}
	return r.Renderer.Render(render.Input{Version: version.Name, Chart: versions.ChartZTunnel, Release: ReleaseName,
		Namespace: zt.Spec.Namespace, Values: vals})
}

// SetupWithManager registers the controller and its watches: the ZTunnel, the objects it owns, its namespace,
// and the Istios and IstioRevisions its targetRef may resolve to.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.base = lifecycle.NewReconciler[*sailv1.ZTunnel](r, &lifecycle.Lifecycle{Client: r.Client, Scheme: r.Scheme,
		Applier: r.Applier, Recorder: r.Recorder, Finalizer: Finalizer})
	return lifecycle.NewBuilder(mgr, r.Applier, &sailv1.ZTunnel{}, "ztunnel", 1, OwnedTypes(r.Scheme, r.Versions)...).
		WatchesMetadata(lifecycle.NamespaceMetadata(), handler.EnqueueRequestsFromMapFunc(r.inNamespace)).
		Watches(&sailv1.Istio{}, handler.EnqueueRequestsFromMapFunc(r.targeting)).
		Watches(&sailv1.IstioRevision{}, handler.EnqueueRequestsFromMapFunc(r.targeting)).
		Complete(r)
}

// singleton reads the ZTunnel for a watch of kind; nil when there is none. A failed read is reported and returns
// unknown=true: the caller reconciles the ZTunnel anyway (its name is known), so that no change is missed.
func (r *Reconciler) singleton(ctx context.Context, kind string) (zt *sailv1.ZTunnel, unknown bool) {
	zt = &sailv1.ZTunnel{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: sailv1.ZTunnelName}, zt); err != nil {
		if !apierrors.IsNotFound(err) {
			metrics.WatchLookupFailed(ctx, "ztunnel", kind, err)
		}
		return nil, !apierrors.IsNotFound(err)
	}
	return zt, false
}

// request is the reconcile request of the ZTunnel.
var request = []reconcile.Request{{NamespacedName: client.ObjectKey{Name: sailv1.ZTunnelName}}}

func (r *Reconciler) inNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	zt, unknown := r.singleton(ctx, "Namespace")
	if unknown || (zt != nil && zt.Spec.Namespace == ns.GetName()) {
		return request
	}
	return nil
}

// targeting maps an Istio or IstioRevision to the ZTunnel when its targetRef may resolve to it: the Istio it
// names, or the IstioRevision it names or one controlled by the Istio it names.
func (r *Reconciler) targeting(ctx context.Context, o client.Object) []reconcile.Request {
	zt, unknown := r.singleton(ctx, "Istio or IstioRevision")
	if unknown {
		return request
	}
	if zt == nil {
		return nil
	}
	if zt.Spec.TargetRef == nil {
		// Without a targetRef the ZTunnel's version skew is checked against every IstioRevision.
		if _, ok := o.(*sailv1.IstioRevision); ok {
			return request
		}
		return nil
	}
	ref := zt.Spec.TargetRef
	match := false
	switch o.(type) {
	case *sailv1.Istio:
		match = ref.Kind == sailv1.IstioKind && ref.Name == o.GetName()
	case *sailv1.IstioRevision:
		owner := metav1.GetControllerOf(o)
		match = (ref.Kind == sailv1.IstioRevisionKind && ref.Name == o.GetName()) ||
			(ref.Kind == sailv1.IstioKind && owner != nil && owner.Kind == sailv1.IstioKind && owner.Name == ref.Name)
	}
	if !match {
		return nil
	}
	return request
}

// OwnedTypes lists the kinds the ztunnel chart of the supported versions renders, to watch them.
func OwnedTypes(scheme *runtime.Scheme, list *versions.List) []client.Object {
	owned, _ := lifecycle.OwnedTypes(scheme, list, []string{versions.ChartZTunnel})
	return owned
}
