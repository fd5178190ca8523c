// Package istiocni reconciles the IstioCNI: it renders Istio's cni chart for the resolved version, profile and
// values, applies it with server-side apply, prunes what is no longer rendered, removes everything on deletion and
// reports the readiness of the istio-cni-node DaemonSet.
package istiocni

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/readiness"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/status"
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

// Reconciler reconciles the IstioCNI.
type Reconciler struct {
	Client   client.Client
	Scheme   *runtime.Scheme
	Renderer *render.Renderer
	Applier  *apply.Applier
	Versions *versions.List
	Platform values.Platform
	Recorder events.EventRecorder

	// lc holds the shared apply/prune/finalize steps; SetupWithManager sets it.
	lc *lifecycle.Lifecycle
}

// Reconcile moves the IstioCNI towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	cni := &sailv1.IstioCNI{}
	if err := r.Client.Get(ctx, req.NamespacedName, cni); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !cni.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.lc.Finalize(ctx, cni, &cni.Status.Inventory, cni.Spec.Namespace, func() ([]*unstructured.Unstructured, error) {
			return r.render(cni)
		})
	}
	if cni.Name != sailv1.IstioCNIName {
		// The CRD rejects other names; this guards against an outdated CRD.
		return ctrl.Result{}, r.updateStatus(ctx, cni, cni.Status.DeepCopy(), &lifecycle.Outcome{Reason: sailv1.ReasonInvalidSpec,
			Err: fmt.Errorf("an IstioCNI must be named %s; this one is ignored", sailv1.IstioCNIName)})
	}
	if err := r.lc.EnsureFinalizer(ctx, cni); err != nil {
		return ctrl.Result{}, err
	}
	log.FromContext(ctx).V(1).Info("reconciling")
	before := cni.Status.DeepCopy()
	out := &lifecycle.Outcome{}
	err := r.reconcile(ctx, cni, out)
	if statusErr := r.updateStatus(ctx, cni, before, out); statusErr != nil {
		err = errors.Join(err, statusErr)
	}
	return ctrl.Result{}, err
}

func (r *Reconciler) reconcile(ctx context.Context, cni *sailv1.IstioCNI, out *lifecycle.Outcome) error {
	version, err := r.Versions.Resolve(cni.Spec.Version)
	if err != nil {
		out.Fail(sailv1.ReasonInvalidSpec, err)
		return reconcile.TerminalError(err)
	}
	cni.Status.Version = version.Name
	out.Applied = "istio-cni " + version.Name
	if reason, msg, err := lifecycle.CheckNamespace(ctx, r.Client, cni.Spec.Namespace); err != nil || reason != "" {
		if err != nil {
			out.Fail(sailv1.ReasonReconcileError, err)
			return err
		}
		out.Fail(reason, errors.New(msg))
		return nil // the namespace watch brings us back
	}
	objs, reason, err := r.lc.Desired(cni, lifecycle.Key(cni, string(r.Platform)), cni.Spec.Namespace, func() ([]*unstructured.Unstructured, error) {
		return r.render(cni)
	})
	if err != nil {
		out.Fail(reason, err)
		if reason == sailv1.ReasonRenderError || reason == sailv1.ReasonInvalidSpec {
			return reconcile.TerminalError(err)
		}
		return err
	}
	if err := r.lc.ApplyAndPrune(ctx, cni, &cni.Status.Inventory, objs, out.Applied); err != nil {
		out.Fail(sailv1.ReasonReconcileError, err)
		return err
	}
	ready, msg, err := readiness.Check(ctx, r.Client, r.Scheme, objs, r.Applier.AppliedGeneration)
	if err != nil {
		return err
	}
	out.Ready, out.ReadyMessage = ready, msg+"."
	if ready {
		out.ReadyMessage = "The istio-cni node agent is ready on every node."
	}
	return nil
}

// render returns the cni chart's objects for the IstioCNI's spec.
func (r *Reconciler) render(cni *sailv1.IstioCNI) ([]*unstructured.Unstructured, error) {
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

// updateStatus writes the conditions computed from the outcome when the status changed.
func (r *Reconciler) updateStatus(ctx context.Context, cni *sailv1.IstioCNI, before *sailv1.IstioCNIStatus, out *lifecycle.Outcome) error {
	cni.Status.State = out.SetConditions(&cni.Status.Conditions, cni.Generation)
	cni.Status.ObservedGeneration = cni.Generation
	r.lc.Events(cni, before.Conditions, cni.Status.Conditions, out)
	if equality.Semantic.DeepEqual(before, &cni.Status) {
		return nil
	}
	return status.Patch(ctx, r.Client, cni, cni.Status, "version", "inventory")
}

// SetupWithManager registers the controller and its watches: the IstioCNI, the objects it owns (a change or
// deletion brings it back to repair them, a DaemonSet status change to report readiness) and its namespace.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.lc = &lifecycle.Lifecycle{Client: r.Client, Applier: r.Applier, Recorder: r.Recorder, Finalizer: Finalizer}
	b := ctrl.NewControllerManagedBy(mgr).For(&sailv1.IstioCNI{}).Named("istiocni").
		WithOptions(controller.Options{MaxConcurrentReconciles: 1})
	for _, o := range OwnedTypes() {
		b = b.Owns(o)
	}
	nsMeta := &metav1.PartialObjectMetadata{}
	nsMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	b = b.WatchesMetadata(nsMeta, handler.EnqueueRequestsFromMapFunc(r.inNamespace))
	return b.Complete(r)
}

func (r *Reconciler) inNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	cni := &sailv1.IstioCNI{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: sailv1.IstioCNIName}, cni); err != nil || cni.Spec.Namespace != ns.GetName() {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(cni)}}
}

// OwnedTypes lists the kinds of the cni chart that are watched. ResourceQuotas and NetworkAttachmentDefinitions
// (rendered only on request, or with Multus) are applied and pruned but not watched.
func OwnedTypes() []client.Object {
	return []client.Object{
		&appsv1.DaemonSet{}, &corev1.ServiceAccount{}, &corev1.ConfigMap{},
		&rbacv1.ClusterRole{}, &rbacv1.ClusterRoleBinding{}, &networkingv1.NetworkPolicy{},
	}
}
