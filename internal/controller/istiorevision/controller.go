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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/apply"
	"github.com/sail-mesh/sail/internal/dependencies"
	"github.com/sail-mesh/sail/internal/istiocrds"
	"github.com/sail-mesh/sail/internal/lifecycle"
	"github.com/sail-mesh/sail/internal/readiness"
	"github.com/sail-mesh/sail/internal/render"
	"github.com/sail-mesh/sail/internal/revision"
	"github.com/sail-mesh/sail/internal/revisiontags"
	"github.com/sail-mesh/sail/internal/status"
	"github.com/sail-mesh/sail/internal/values"
	"github.com/sail-mesh/sail/internal/versions"
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
	Applier  *apply.Manager
	// CRDs installs Istio's CRDs; nil when the operator does not manage them.
	CRDs     *istiocrds.Installer
	Recorder events.EventRecorder

	// prepared caches desired objects by revision name.
	prepared sync.Map
}

// scope carries one reconcile's state between its phases.
type scope struct {
	rev     *sailv1.IstioRevision
	objects []*unstructured.Unstructured
	// conditions are set by the phases; the deferred status update writes them.
	reconciledErr error
	reason        string
}

// Reconcile moves one IstioRevision towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	rev := &sailv1.IstioRevision{}
	if err := r.Client.Get(ctx, req.NamespacedName, rev); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !rev.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, rev)
	}
	if !controllerutil.ContainsFinalizer(rev, Finalizer) {
		patch := client.MergeFromWithOptions(rev.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(rev, Finalizer)
		if err := r.Client.Patch(ctx, rev, patch); err != nil {
			return ctrl.Result{}, err
		}
	}

	log.FromContext(ctx).V(1).Info("reconciling")
	s := &scope{rev: rev}
	before := rev.Status.DeepCopy()
	err := r.reconcile(ctx, s)
	if statusErr := r.updateStatus(ctx, s, before); statusErr != nil {
		err = errors.Join(err, statusErr)
	}
	return ctrl.Result{}, err
}

func (r *Reconciler) reconcile(ctx context.Context, s *scope) error {
	if reason, msg, err := checkNamespace(ctx, r.Client, s.rev.Spec.Namespace); err != nil || reason != "" {
		if err != nil {
			return err
		}
		s.fail(reason, errors.New(msg))
		return nil // the namespace watch brings us back
	}
	tag := &sailv1.IstioRevisionTag{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: s.rev.Name}, tag); err == nil && !revisiontags.RevisionWins(s.rev, tag) {
		s.fail(sailv1.ReasonNameAlreadyExists, fmt.Errorf("IstioRevisionTag %s is older and has the same name, so it "+
			"wins; rename or delete one of them", s.rev.Name))
		return nil // the tag's deletion brings us back
	} else if client.IgnoreNotFound(err) != nil {
		return err
	}
	objs, reason, err := r.desired(s.rev)
	log.FromContext(ctx).V(1).Info("desired objects ready", "count", len(objs))
	if err != nil {
		s.fail(reason, err)
		if reason == sailv1.ReasonRenderError {
			return reconcile.TerminalError(err)
		}
		return err
	}
	// Istio's CRDs are not needed by the charts' objects: install them alongside, off the critical path.
	crdsDone := make(chan error, 1)
	go func() { crdsDone <- r.ensureCRDs(ctx, s.rev.Spec.Version) }()
	err = r.applyAndPrune(ctx, s, objs)
	if crdErr := <-crdsDone; crdErr != nil {
		s.fail(sailv1.ReasonReconcileError, crdErr)
		err = errors.Join(err, crdErr)
	}
	return err
}

// applyAndPrune applies the desired objects and deletes those the inventory lists that are no longer desired.
func (r *Reconciler) applyAndPrune(ctx context.Context, s *scope, objs []*unstructured.Unstructured) error {
	s.objects = objs
	current := apply.Inventory(objs)
	old := s.rev.Status.Inventory
	if len(apply.Diff(current, old)) > 0 {
		// Record new objects before creating them, so a crash in between cannot leak them.
		if err := status.PatchInventory(ctx, r.Client, s.rev, &s.rev.Status.Inventory, apply.Union(old, current)); err != nil {
			return err
		}
	}
	changes, err := r.Applier.Apply(ctx, objs)
	r.report(ctx, s.rev, changes)
	if err != nil {
		s.fail(sailv1.ReasonReconcileError, err)
		return err
	}
	failed, err := r.Applier.Delete(ctx, apply.Diff(s.rev.Status.Inventory, current))
	s.rev.Status.Inventory = apply.Union(current, failed)
	if err != nil {
		s.fail(sailv1.ReasonReconcileError, fmt.Errorf("pruning objects no longer rendered: %w", err))
		return err
	}
	return nil
}

func (r *Reconciler) ensureCRDs(ctx context.Context, version string) error {
	if r.CRDs == nil {
		return nil
	}
	return r.CRDs.Ensure(ctx, version)
}

// preparedObjects are a revision's rendered and prepared objects for one generation of its spec. They are shared
// between reconciles and must not be modified.
type preparedObjects struct {
	uid        types.UID
	generation int64
	objects    []*unstructured.Unstructured
}

// desired returns the objects to apply for the revision, rendering and preparing them only when the revision's
// spec changed since the last reconcile; on failure it also returns the condition reason.
func (r *Reconciler) desired(rev *sailv1.IstioRevision) ([]*unstructured.Unstructured, string, error) {
	if cached, ok := r.prepared.Load(rev.Name); ok {
		p := cached.(preparedObjects)
		if p.uid == rev.UID && p.generation == rev.Generation {
			return p.objects, "", nil
		}
	}
	objs, err := r.render(rev)
	if err != nil {
		return nil, sailv1.ReasonRenderError, err
	}
	if err := r.Applier.Prepare(objs, rev, rev.Spec.Namespace); err != nil {
		return nil, sailv1.ReasonReconcileError, err
	}
	r.prepared.Store(rev.Name, preparedObjects{uid: rev.UID, generation: rev.Generation, objects: objs})
	return objs, "", nil
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
		baseVals := values.Merge(vals, values.Map{"defaultRevision": sailv1.DefaultRevision})
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

func (s *scope) fail(reason string, err error) {
	if s.reconciledErr == nil {
		s.reconciledErr, s.reason = err, reason
	}
}

// report logs and records events for the objects that were created or changed.
func (r *Reconciler) report(ctx context.Context, rev *sailv1.IstioRevision, changes []apply.Change) {
	lifecycle.Report(ctx, r.Recorder, rev, changes, "Istio "+rev.Spec.Version)
}

// updateStatus computes the conditions from what the phases observed and writes them when they changed.
func (r *Reconciler) updateStatus(ctx context.Context, s *scope, before *sailv1.IstioRevisionStatus) error {
	rev := s.rev
	gen := rev.Generation
	if s.reconciledErr != nil {
		status.Set(&rev.Status.Conditions, gen, sailv1.ConditionReconciled, metav1.ConditionFalse, s.reason, message(s.reconciledErr))
		status.Set(&rev.Status.Conditions, gen, sailv1.ConditionReady, metav1.ConditionFalse, sailv1.ReasonNotReady,
			"The control plane is not ready because the last reconcile failed; see the Reconciled condition.")
	} else {
		status.Set(&rev.Status.Conditions, gen, sailv1.ConditionReconciled, metav1.ConditionTrue, sailv1.ReasonReconcileSucceeded,
			fmt.Sprintf("Istio %s is applied.", rev.Spec.Version))
		ready, msg, err := readiness.Check(ctx, r.Client, r.Scheme, s.objects)
		if err != nil {
			return err
		}
		if ready {
			status.Set(&rev.Status.Conditions, gen, sailv1.ConditionReady, metav1.ConditionTrue, sailv1.ReasonReady, "istiod is ready.")
		} else {
			status.Set(&rev.Status.Conditions, gen, sailv1.ConditionReady, metav1.ConditionFalse, sailv1.ReasonNotReady, msg+".")
		}
	}
	rev.Status.ObservedGeneration = gen
	if status.True(rev.Status.Conditions, sailv1.ConditionReady) != status.True(before.Conditions, sailv1.ConditionReady) && r.Recorder != nil {
		if status.True(rev.Status.Conditions, sailv1.ConditionReady) {
			r.Recorder.Eventf(rev, nil, corev1.EventTypeNormal, "Ready", "Reconcile", "Istio %s control plane is ready", rev.Spec.Version)
		}
	}
	if s.reconciledErr != nil && r.Recorder != nil && !equality.Semantic.DeepEqual(before.Conditions, rev.Status.Conditions) {
		r.Recorder.Eventf(rev, nil, corev1.EventTypeWarning, s.reason, "Reconcile", "%s", message(s.reconciledErr))
	}
	depStatus, depReason, depMessage, err := dependencies.Check(ctx, r.Client, rev)
	if err != nil {
		return err
	}
	status.Set(&rev.Status.Conditions, gen, sailv1.ConditionDependenciesHealthy, depStatus, depReason, depMessage)
	setInUse(ctx, r.Client, rev)
	status.SetKstatus(&rev.Status.Conditions, gen)
	rev.Status.State = status.State(rev.Status.Conditions)
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

func message(err error) string {
	msg := err.Error()
	if msg == "" {
		return "Unknown error."
	}
	return msg
}

// finalize deletes everything applied for the revision, then releases it.
func (r *Reconciler) finalize(ctx context.Context, rev *sailv1.IstioRevision) error {
	if !controllerutil.ContainsFinalizer(rev, Finalizer) {
		return nil
	}
	// Delete what the inventory lists plus what the current spec renders, in case the inventory lags.
	entries := rev.Status.Inventory
	if objs, err := r.render(rev); err == nil {
		if err := r.Applier.Prepare(objs, rev, rev.Spec.Namespace); err == nil {
			entries = apply.Union(entries, apply.Inventory(objs))
		}
	}
	if failed, err := r.Applier.Delete(ctx, entries); err != nil {
		_ = status.PatchInventory(ctx, r.Client, rev, &rev.Status.Inventory, failed)
		return err
	}
	log.FromContext(ctx).Info("deleted the revision's objects", "count", len(entries))
	r.prepared.Delete(rev.Name)
	patch := client.MergeFromWithOptions(rev.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(rev, Finalizer)
	return client.IgnoreNotFound(r.Client.Patch(ctx, rev, patch))
}

// checkNamespace returns a reason and message when the control plane namespace cannot be used.
func checkNamespace(ctx context.Context, c client.Client, name string) (string, string, error) {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := c.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return sailv1.ReasonNamespaceNotFound, fmt.Sprintf("Namespace %q does not exist; create it (kubectl create namespace %s).", name, name), nil
		}
		return "", "", err
	}
	if !ns.DeletionTimestamp.IsZero() {
		return sailv1.ReasonNamespaceTerminating, fmt.Sprintf("Namespace %q is being deleted; wait until it is gone, then create it again.", name), nil
	}
	return "", "", nil
}

// SetupWithManager registers the controller, its watches on owned objects and the namespace index.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
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
