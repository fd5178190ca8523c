// Package istiorevision reconciles IstioRevisions: it renders the revision's istiod chart (and, for the revision
// named default, the cluster-wide objects of the base chart), applies the result with server-side apply, prunes
// what is no longer rendered, removes everything on deletion and reports readiness.
package istiorevision

import (
	"context"
	"errors"
	"fmt"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/mesh/dependencies"
	"github.com/sail-mesh/sail/internal/mesh/istiocrds"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/mesh/revisiontags"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/readiness"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/status"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Finalizer keeps an IstioRevision until the objects applied for it are deleted.
const Finalizer = "sailoperator.io/istiorevision-cleanup"

// IndexNamespace indexes IstioRevisions by spec.namespace.
const IndexNamespace = "spec.namespace"

// Reconciler reconciles IstioRevisions.
type Reconciler struct {
	Client   client.Client
	Scheme   *runtime.Scheme
	Renderer *render.Renderer
	Applier  *apply.Applier
	// CRDs installs Istio's CRDs; nil when the operator does not manage them.
	CRDs     *istiocrds.Installer
	Recorder events.EventRecorder

	// lc holds the shared apply/prune/finalize steps; SetupWithManager sets it.
	lc *lifecycle.Lifecycle
}

// Reconcile moves one IstioRevision towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	rev := &sailv1.IstioRevision{}
	if err := r.Client.Get(ctx, req.NamespacedName, rev); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !rev.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.lc.Finalize(ctx, rev, &rev.Status.Inventory, rev.Spec.Namespace,
			func() ([]*unstructured.Unstructured, error) { return r.render(rev) })
	}
	if err := r.lc.EnsureFinalizer(ctx, rev); err != nil {
		return ctrl.Result{}, err
	}

	log.FromContext(ctx).V(1).Info("reconciling")
	before := rev.Status.DeepCopy()
	o := &lifecycle.Outcome{Applied: "Istio " + rev.Spec.Version}
	objs, err := r.reconcile(ctx, rev, o)
	if statusErr := r.updateStatus(ctx, rev, before, objs, o); statusErr != nil {
		err = errors.Join(err, statusErr)
	}
	return ctrl.Result{}, err
}

// reconcile applies the revision's objects and returns them; failures that belong in status are recorded in o.
func (r *Reconciler) reconcile(ctx context.Context, rev *sailv1.IstioRevision, o *lifecycle.Outcome) ([]*unstructured.Unstructured, error) {
	if reason, msg, err := lifecycle.CheckNamespace(ctx, r.Client, rev.Spec.Namespace); err != nil || reason != "" {
		if err != nil {
			return nil, err
		}
		o.Fail(reason, errors.New(msg))
		return nil, nil // the namespace watch brings us back
	}
	tag := &sailv1.IstioRevisionTag{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: rev.Name}, tag); err == nil && !revisiontags.RevisionWins(rev, tag) {
		o.Fail(sailv1.ReasonNameAlreadyExists, fmt.Errorf("IstioRevisionTag %s is older and has the same name, so it "+
			"wins; rename or delete one of them", rev.Name))
		return nil, nil // the tag's deletion brings us back
	} else if client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	objs, reason, err := r.lc.Desired(rev, lifecycle.Key(rev), rev.Spec.Namespace,
		func() ([]*unstructured.Unstructured, error) { return r.render(rev) })
	log.FromContext(ctx).V(1).Info("desired objects ready", "count", len(objs))
	if err != nil {
		o.Fail(reason, err)
		if reason == sailv1.ReasonRenderError {
			return nil, reconcile.TerminalError(err)
		}
		return nil, err
	}
	// Istio's CRDs are not needed by the charts' objects: install them alongside, off the critical path.
	crdsDone := make(chan error, 1)
	go func() { crdsDone <- r.ensureCRDs(ctx, rev.Spec.Version) }()
	err = r.lc.ApplyAndPrune(ctx, rev, &rev.Status.Inventory, objs, "Istio "+rev.Spec.Version)
	if err != nil {
		o.Fail(sailv1.ReasonReconcileError, err)
	}
	if crdErr := <-crdsDone; crdErr != nil {
		o.Fail(sailv1.ReasonReconcileError, crdErr)
		err = errors.Join(err, crdErr)
	}
	return objs, err
}

func (r *Reconciler) ensureCRDs(ctx context.Context, version string) error {
	if r.CRDs == nil {
		return nil
	}
	return r.CRDs.Ensure(ctx, version)
}

// render returns the revision's objects: the istiod chart, plus the base chart's cluster-wide objects (without
// CRDs) for the revision named default. The two charts render in parallel.
func (r *Reconciler) render(rev *sailv1.IstioRevision) ([]*unstructured.Unstructured, error) {
	vals, err := values.ToMap(rev.Spec.Values)
	if err != nil {
		return nil, err
	}
	var base []*unstructured.Unstructured
	var baseErr error
	var wg sync.WaitGroup
	if rev.Name == sailv1.DefaultRevision {
		baseVals := values.ForBaseChart(vals)
		wg.Go(func() {
			base, baseErr = r.Renderer.Render(render.Input{Version: rev.Spec.Version, Chart: versions.ChartBase,
				Release: "base", Namespace: rev.Spec.Namespace, Values: baseVals})
		})
	}
	objs, err := r.Renderer.Render(render.Input{Version: rev.Spec.Version, Chart: versions.ChartIstiod,
		Release: rev.Name, Namespace: rev.Spec.Namespace, Values: values.ForIstiodChart(vals)})
	wg.Wait()
	if err = errors.Join(err, baseErr); err != nil {
		return nil, err
	}
	for _, u := range base {
		// Istio's CRDs are installed by the CRD installer, which never downgrades or deletes them.
		if u.GetKind() != "CustomResourceDefinition" {
			objs = append(objs, u)
		}
	}
	return objs, nil
}

// updateStatus computes the conditions from the outcome, the applied objects' readiness, the dependencies and
// the revision's usage, and writes them when they changed.
func (r *Reconciler) updateStatus(ctx context.Context, rev *sailv1.IstioRevision, before *sailv1.IstioRevisionStatus,
	objs []*unstructured.Unstructured, o *lifecycle.Outcome) error {
	gen := rev.Generation
	if o.Err == nil {
		ready, msg, err := readiness.Check(ctx, r.Client, r.Scheme, objs, r.Applier.AppliedGeneration)
		if err != nil {
			return err
		}
		o.Ready, o.ReadyMessage = ready, msg+"."
		if ready {
			o.ReadyMessage = "istiod is ready."
		}
	}
	depStatus, depReason, depMessage, err := dependencies.Check(ctx, r.Client, rev)
	if err != nil {
		return err
	}
	status.Set(&rev.Status.Conditions, gen, sailv1.ConditionDependenciesHealthy, depStatus, depReason, depMessage)
	setInUse(ctx, r.Client, rev)
	rev.Status.State = o.SetConditions(&rev.Status.Conditions, gen)
	rev.Status.ObservedGeneration = gen
	r.lc.Events(rev, before.Conditions, rev.Status.Conditions, o)
	if equality.Semantic.DeepEqual(before, &rev.Status) {
		return nil
	}
	return status.Patch(ctx, r.Client, rev, rev.Status, "inventory")
}

// setInUse sets the InUse condition from the cache's usage indexes; when usage cannot be read it is Unknown, which
// keeps the revision from being pruned.
func setInUse(ctx context.Context, reader client.Reader, rev *sailv1.IstioRevision) {
	var usage revision.Usage
	tags, err := revisiontags.TagsOf(ctx, reader, rev.Name)
	if err == nil {
		// A revision is also in use through the tags that point at it.
		usage, err = revision.Of(ctx, reader, append([]string{rev.Name}, tags...)...)
	}
	revision.SetInUse(&rev.Status.Conditions, rev.Generation, usage, err, "revision", ".")
}

// SetupWithManager registers the controller, its watches on owned objects and the namespace index.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	r.lc = &lifecycle.Lifecycle{Client: r.Client, Applier: r.Applier, Recorder: r.Recorder, Finalizer: Finalizer}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &sailv1.IstioRevision{}, IndexNamespace,
		func(o client.Object) []string { return []string{o.(*sailv1.IstioRevision).Spec.Namespace} }); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).For(&sailv1.IstioRevision{}).Named("istiorevision").
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency})
	for _, o := range OwnedTypes() {
		b = b.Owns(o)
	}
	nsMeta := &metav1.PartialObjectMetadata{}
	nsMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	b = b.WatchesMetadata(nsMeta, handler.EnqueueRequestsFromMapFunc(r.revisionsInNamespace))
	// Usage: a namespace or pod that starts or stops selecting a revision re-evaluates that revision's InUse
	// condition (the revision's charts are neither rendered nor applied again: its spec did not change).
	b = b.WatchesMetadata(nsMeta, usageHandler(func(o client.Object) string { return revision.NamespaceRevision(o.GetLabels()) }))
	b = b.Watches(&corev1.Pod{}, usageHandler(func(o client.Object) string {
		if pod, ok := o.(*corev1.Pod); ok {
			return revision.PodRevision(pod)
		}
		return ""
	}))
	// Dependencies: an IstioCNI or ZTunnel that appears, goes or changes readiness re-evaluates every revision's
	// DependenciesHealthy condition (status only: the revisions' specs did not change, so nothing is rendered).
	b = dependencies.Watch(b, r.Client)
	// Tags: a tag that starts or stops pointing at a revision, or whose usage changes, re-evaluates its InUse.
	b = b.Watches(&sailv1.IstioRevisionTag{}, revisiontags.RevisionHandler())
	b = b.Watches(&sailv1.IstioRevisionTag{}, handler.EnqueueRequestsFromMapFunc(
		func(_ context.Context, o client.Object) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: o.GetName()}}} // a same-named revision
		}))
	return b.Complete(r)
}

// usageHandler enqueues the revision an object selects when it appears or goes, and both the old and the new
// revision when an update changes which one it selects; other updates enqueue nothing.
func usageHandler(revOf func(client.Object) string) handler.EventHandler {
	enqueue := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], rev string) {
		if rev != "" {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: rev}})
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, revOf(e.Object))
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if before, after := revOf(e.ObjectOld), revOf(e.ObjectNew); before != after {
				enqueue(q, before)
				enqueue(q, after)
			}
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, revOf(e.Object))
		},
	}
}

func (r *Reconciler) revisionsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	list := &sailv1.IstioRevisionList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{IndexNamespace: o.GetName()}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, rev := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&rev)})
	}
	return out
}

// OwnedTypes lists the kinds of the istiod and base charts that are watched, so that a change or deletion of one
// brings the owning revision back to repair it.
func OwnedTypes() []client.Object {
	return []client.Object{
		&appsv1.Deployment{}, &corev1.Service{}, &corev1.ServiceAccount{}, &corev1.ConfigMap{},
		&rbacv1.ClusterRole{}, &rbacv1.ClusterRoleBinding{}, &rbacv1.Role{}, &rbacv1.RoleBinding{},
		&admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfiguration{},
		&policyv1.PodDisruptionBudget{}, &autoscalingv2.HorizontalPodAutoscaler{},
	}
}
