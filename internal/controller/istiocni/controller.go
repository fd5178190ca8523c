// Package istiocni reconciles the IstioCNI: it renders Istio's cni chart for the resolved version, profile and
// values, applies it with server-side apply, prunes what is no longer rendered, removes everything on deletion and
// reports the readiness of the istio-cni-node DaemonSet.
package istiocni

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/mesh/skew"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Permissions of this controller (the objects of the cni chart that internal/operator/rbac.go does not cover).
//
// +kubebuilder:rbac:groups=sailoperator.io,resources=istiocnis,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=sailoperator.io,resources=istiocnis/status,verbs=patch
// +kubebuilder:rbac:groups=sailoperator.io,resources=istiocnis/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=daemonsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=k8s.cni.cncf.io,resources=network-attachment-definitions,verbs=get;list;watch;create;patch;delete

// Finalizer keeps the IstioCNI until the objects applied for it are deleted.
const Finalizer = "sailoperator.io/istiocni-cleanup"

// ReleaseName is the Helm release name the cni chart is rendered with.
const ReleaseName = "istio-cni"

// Reconciler reconciles the IstioCNI. It is the lifecycle.Kind of IstioCNIs: the lifecycle.Reconciler runs the
// reconcile, this type says what is particular to the IstioCNI.
type Reconciler struct {
	lifecycle.Deps

	// base runs the reconcile; SetupWithManager sets it.
	base *lifecycle.Reconciler[*sailv1.IstioCNI]
}

type scope = lifecycle.Scope[*sailv1.IstioCNI]

// Reconcile moves the IstioCNI towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	return r.base.Reconcile(ctx, req)
}

// NewObject returns an empty IstioCNI.
func (r *Reconciler) NewObject() *sailv1.IstioCNI { return &sailv1.IstioCNI{} }

// StatusOf points at the IstioCNI's status.
func (r *Reconciler) StatusOf(cni *sailv1.IstioCNI) lifecycle.Status {
	st := &cni.Status
	return lifecycle.Status{All: st, Conditions: &st.Conditions, ObservedGeneration: &st.ObservedGeneration,
		Inventory: &st.Inventory, Clear: []string{"version", "inventory"}}
}

// Refuse refuses an IstioCNI not named default: the CRD rejects other names, this guards against an outdated CRD.
func (r *Reconciler) Refuse(cni *sailv1.IstioCNI) error {
	if cni.Name != sailv1.IstioCNIName {
		return fmt.Errorf("an IstioCNI must be named %s; this one is ignored", sailv1.IstioCNIName)
	}
	return nil
}

// Resolve resolves the version, checks it against the control planes' (version skew) and checks the namespace.
func (r *Reconciler) Resolve(ctx context.Context, s *scope) (lifecycle.Plan, error) {
	cni := s.Obj
	version, err := r.Versions.Resolve(cni.Spec.Version)
	if err != nil {
		s.Outcome.Fail(sailv1.ReasonInvalidSpec, err)
		return lifecycle.Plan{}, reconcile.TerminalError(err)
	}
	if ok, err := r.checkSkew(ctx, s, version.Name); !ok {
		return lifecycle.Plan{}, err
	}
	cni.Status.Version = version.Name
	if ok, err := s.RequireNamespace(ctx, cni.Spec.Namespace); !ok {
		return lifecycle.Plan{}, err
	}
	return lifecycle.Plan{
		Applied:   "istio-cni " + version.Name,
		Namespace: cni.Spec.Namespace,
		Key:       []string{string(r.Platform)},
		Render:    func() ([]*unstructured.Unstructured, error) { return r.Render(cni) },
		Ready:     "The istio-cni node agent is ready on every node.",
	}, nil
}

// checkSkew tells whether the IstioCNI may run version beside every control plane in the cluster
// (skew.CheckComponent); when it may not, the refusal is recorded and nothing is applied: the previous version keeps
// running, and the IstioRevision watch brings the IstioCNI back once the control planes moved.
func (r *Reconciler) checkSkew(ctx context.Context, s *scope, version string) (bool, error) {
	planes, err := skew.ControlPlanes(ctx, r.Client)
	if err != nil {
		s.Outcome.Fail(sailv1.ReasonReconcileError, err)
		return false, err
	}
	if err := skew.CheckComponent(sailv1.IstioCNIKind, version, planes); err != nil {
		s.Outcome.Fail(sailv1.ReasonVersionSkew, err)
		return false, nil
	}
	return true, nil
}

// SetStatus sets Reconciled, Ready and the state.
func (r *Reconciler) SetStatus(_ context.Context, s *scope) error {
	s.Obj.Status.State = s.ReconciledAndReady()
	return nil
}

// Leftovers renders the IstioCNI's objects for its deletion.
func (r *Reconciler) Leftovers(_ context.Context, cni *sailv1.IstioCNI) (string, lifecycle.RenderFunc) {
	return cni.Spec.Namespace, func() ([]*unstructured.Unstructured, error) { return r.Render(cni) }
}

// Render returns the cni chart's objects for the IstioCNI's spec.
func (r *Reconciler) Render(cni *sailv1.IstioCNI) ([]*unstructured.Unstructured, error) {
	version, err := r.Versions.Resolve(cni.Spec.Version)
	if err != nil {
		return nil, err
	}
	vals, err := values.ForCNIChart(version, cni.Spec.Profile, r.Platform, cni.Spec.Values)
	if err != nil {
		return nil, err
	}
	return r.Renderer.Render(render.Input{Version: version.Name, Chart: versions.ChartCNI, Release: ReleaseName,
		Namespace: cni.Spec.Namespace, Values: vals})
}

// SetupWithManager registers the controller and its watches: the IstioCNI, the objects it owns (a change or
// deletion brings it back to repair them, a DaemonSet status change to report readiness) and its namespace.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.base = lifecycle.NewReconciler[*sailv1.IstioCNI](r, &lifecycle.Lifecycle{Client: r.Client, Scheme: r.Scheme,
		Applier: r.Applier, Recorder: r.Recorder, Finalizer: Finalizer})
	return lifecycle.NewBuilder(mgr, r.Applier, &sailv1.IstioCNI{}, "istiocni", 1, OwnedTypes(r.Scheme, r.Versions)...).
		WatchesMetadata(lifecycle.NamespaceMetadata(), handler.EnqueueRequestsFromMapFunc(r.inNamespace)).
		Watches(&sailv1.IstioRevision{}, handler.EnqueueRequestsFromMapFunc(r.always),
			builder.WithPredicates(revisionVersionChanged)).
		Complete(r)
}

// revisionVersionChanged passes the IstioRevision events that can change the version skew the IstioCNI is checked
// against: a revision created or deleted, or a change of its spec.version or status.readyVersion. Other status
// changes (usage, readiness at the same version) do not concern the IstioCNI.
var revisionVersionChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		before, ok1 := e.ObjectOld.(*sailv1.IstioRevision)
		after, ok2 := e.ObjectNew.(*sailv1.IstioRevision)
		if !ok1 || !ok2 {
			return true
		}
		return before.Spec.Version != after.Spec.Version || before.Status.ReadyVersion != after.Status.ReadyVersion
	},
}

// inNamespace maps a namespace to the IstioCNI when it installs into it. When the IstioCNI cannot be read, the
// failure is reported and the IstioCNI is reconciled anyway (its name is known), so that no change is missed.
func (r *Reconciler) inNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	cni := &sailv1.IstioCNI{}
	key := client.ObjectKey{Name: sailv1.IstioCNIName}
	if err := r.Client.Get(ctx, key, cni); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		metrics.WatchLookupFailed(ctx, "istiocni", "Namespace", err)
	} else if cni.Spec.Namespace != ns.GetName() {
		return nil
	}
	return []reconcile.Request{{NamespacedName: key}}
}

// always maps an IstioRevision to the IstioCNI, which serves every control plane: its version skew is checked again.
func (r *Reconciler) always(context.Context, client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: sailv1.IstioCNIName}}}
}

// OwnedTypes lists the kinds the cni chart of the supported versions renders, to watch them. The scheme lacks
// NetworkAttachmentDefinition (Multus, rendered only on request): it is applied and pruned but not watched.
func OwnedTypes(scheme *runtime.Scheme, list *versions.List) []client.Object {
	owned, _ := lifecycle.OwnedTypes(scheme, list, []string{versions.ChartCNI})
	return owned
}
