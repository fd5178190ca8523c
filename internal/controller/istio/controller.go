// Package istio reconciles Istio resources: it resolves the version, computes the values of the control plane's
// IstioRevision, creates or updates that revision, and reports the revisions' state on the Istio.
package istio

import (
	"context"
	"errors"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/mesh/discovery"
	"github.com/sail-mesh/sail/internal/mesh/remoteusage"
	"github.com/sail-mesh/sail/internal/mesh/workloads"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/pipeline/status"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// The Istio controller creates and deletes the managed default IstioRevisionTag.
// +kubebuilder:rbac:groups=sailoperator.io,resources=istiorevisiontags,verbs=create;delete

// Finalizer keeps an Istio until its revisions are gone.
const Finalizer = "sailoperator.io/istio-cleanup"

// IndexOwner indexes IstioRevisions by the name of the Istio that controls them.
const IndexOwner = "metadata.istioOwner"

// Reconciler reconciles Istio resources.
type Reconciler struct {
	Client   client.Client
	Versions *versions.List
	Platform values.Platform
	Recorder events.EventRecorder
	// Migrator moves workloads to the active revision when spec.updateStrategy.updateWorkloads is true; nil
	// turns that off.
	Migrator *workloads.Migrator
	// RemoteUsage keeps inactive revisions that remote clusters (read through the remote secrets of the control
	// plane's namespace) may still use; nil looks at this cluster only.
	RemoteUsage *remoteusage.Checker
	// RemoteRecheck is how often a revision kept for remote clusters, which are not watched, is looked at again
	// (DefaultRemoteRecheck when zero).
	RemoteRecheck time.Duration

	written writtenStatuses
}

// Reconcile moves one Istio towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	istio := &sailv1.Istio{}
	if err := r.Client.Get(ctx, req.NamespacedName, istio); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !istio.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, istio)
	}
	if err := r.addFinalizer(ctx, istio); err != nil {
		return ctrl.Result{}, err
	}
	log.FromContext(ctx).V(1).Info("reconciling")
	before := istio.Status.DeepCopy()
	out, result, err := r.reconcile(ctx, istio)
	if err != nil {
		return ctrl.Result{}, err
	}
	setStatus(&istio.Status, istio.Generation, out)
	r.eventOnNewOverlap(istio, before)
	err = r.patchStatus(ctx, istio, before)
	if err = errors.Join(out.err, err, out.migrationErr, out.overlapErr); err != nil {
		return result, errors.Join(err, out.defaultTagErr, out.pruneErr)
	}
	return r.retryHousekeeping(ctx, result, out), nil
}

// HousekeepingRetry is how soon an Istio whose only failures are housekeeping (the default tag, pruning) is
// reconciled again. Such failures are usually refusals (RBAC, an admission policy) that no watch sees lifted, so
// they are retried at this steady pace instead of with a backoff that grows to minutes.
const HousekeepingRetry = 10 * time.Second

// retryHousekeeping logs the housekeeping failures of out, if any, and schedules their retry.
func (r *Reconciler) retryHousekeeping(ctx context.Context, result ctrl.Result, out outcome) ctrl.Result {
	err := errors.Join(out.defaultTagErr, out.pruneErr)
	if err == nil {
		return result
	}
	log.FromContext(ctx).Error(err, "housekeeping failed; the active revision still serves", "retryIn", HousekeepingRetry)
	result.RequeueAfter = sooner(result.RequeueAfter, HousekeepingRetry)
	return result
}

func (r *Reconciler) addFinalizer(ctx context.Context, istio *sailv1.Istio) error {
	if controllerutil.ContainsFinalizer(istio, Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(istio.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(istio, Finalizer)
	return r.Client.Patch(ctx, istio, patch)
}

// reconcile does the work of one reconcile and records what it did and found in an outcome. It returns an error
// only when the Istio's revisions cannot be listed, and then no status is written.
func (r *Reconciler) reconcile(ctx context.Context, istio *sailv1.Istio) (outcome, ctrl.Result, error) {
	var out outcome
	r.checkNetwork(ctx, istio, &out)
	written := r.reconcileRevision(ctx, istio, &out)
	log.FromContext(ctx).V(1).Info("revision reconciled")
	revs, err := r.revisions(ctx, istio)
	if err != nil {
		return out, ctrl.Result{}, errors.Join(out.err, err)
	}
	out.revisions = newest(revs, written)
	// Only a change that reached its revision may retire the others: after a failed one (the new revision could
	// not be created or updated) the revision that serves now stays, however long the failure lasts.
	applied := out.err == nil && findRevision(out.revisions, out.active) != nil
	// The default tag and the pruning of inactive revisions report their failures in DefaultTagReconciled and
	// RevisionsMaintained, not in Reconciled or Ready: the active revision serves regardless. They are retried
	// every HousekeepingRetry (see retryHousekeeping).
	out.defaultTag, out.defaultTagErr = r.defaultTag(ctx, istio, out.err == nil)
	var result ctrl.Result
	if applied {
		result, out.kept, out.pruneErr = r.pruneInactive(ctx, istio, out.revisions, out.active)
		out.pruned = true
	}
	// Moving workloads reports its own failures in the WorkloadsMigrated condition, not in Reconciled: the
	// control plane itself is fine. The error still comes back for a retry with backoff.
	if out.err == nil && r.Migrator != nil {
		r.migrate(ctx, istio, &out)
		result.RequeueAfter = sooner(result.RequeueAfter, out.migration.RequeueAfter)
	}
	// Overlapping discovery is a warning (DiscoveryOverlap): it changes nothing that is installed.
	out.isolated = discovery.ScopeOf(istio).Isolated
	out.overlaps, out.overlapErr = r.overlaps(ctx, istio)
	out.overlapsKnown = out.overlapErr == nil
	return out, result, nil
}

// migrate steps the migration of workloads from the Istio's other revisions to the active one (a batch per step)
// and records its result in out.
func (r *Reconciler) migrate(ctx context.Context, istio *sailv1.Istio, out *outcome) {
	var active *sailv1.IstioRevision
	var old []string
	for i := range out.revisions {
		if out.revisions[i].Name == out.active {
			active = &out.revisions[i]
		} else {
			old = append(old, out.revisions[i].Name)
		}
	}
	res, err := r.Migrator.Step(ctx, istio, active, old, time.Now())
	out.migration, out.migrationErr = &res, err
}

// sooner returns the sooner of two requeue delays, where 0 means none.
func sooner(a, b time.Duration) time.Duration {
	if b > 0 && (a == 0 || b < a) {
		return b
	}
	return a
}

func (r *Reconciler) revisions(ctx context.Context, istio *sailv1.Istio) ([]sailv1.IstioRevision, error) {
	list := &sailv1.IstioRevisionList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{IndexOwner: istio.Name}); err != nil {
		return nil, err
	}
	var out []sailv1.IstioRevision
	for _, rev := range list.Items {
		if metav1.IsControlledBy(&rev, istio) {
			out = append(out, rev)
		}
	}
	return out, nil
}

func (r *Reconciler) patchStatus(ctx context.Context, istio *sailv1.Istio, before *sailv1.IstioStatus) error {
	if equality.Semantic.DeepEqual(before, &istio.Status) || r.written.alreadyWritten(istio, &istio.Status) {
		return nil
	}
	from := istio.ResourceVersion
	if err := status.Patch(ctx, r.Client, istio, istio.Status, "activeRevisionName", "version", "workloadMigration"); err != nil {
		return err
	}
	r.written.remember(istio, from, istio.ResourceVersion, &istio.Status)
	return nil
}

// finalize deletes the Istio's revisions and waits until they are gone (each cleans up its own objects).
func (r *Reconciler) finalize(ctx context.Context, istio *sailv1.Istio) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(istio, Finalizer) {
		return ctrl.Result{}, nil
	}
	revs, err := r.revisions(ctx, istio)
	if err != nil {
		return ctrl.Result{}, err
	}
	for i := range revs {
		if revs[i].DeletionTimestamp.IsZero() {
			if err := r.Client.Delete(ctx, &revs[i]); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, err
			}
		}
	}
	tag := &sailv1.IstioRevisionTag{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: sailv1.DefaultRevision}, tag); err == nil && metav1.IsControlledBy(tag, istio) {
		if err := r.Client.Delete(ctx, tag); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
	}
	if len(revs) > 0 {
		return ctrl.Result{}, nil // the revisions' deletion brings us back
	}
	r.written.forget(istio.UID)
	patch := client.MergeFromWithOptions(istio.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(istio, Finalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Patch(ctx, istio, patch))
}

// istiosBlockedBy maps an IstioRevision that no Istio controls, or another Istio does, to the Istios whose
// revision may carry its name (the Istio of that name, or whose name and a dash begin it), so that an Istio
// Stalled on an OwnershipConflict recovers by itself when the conflicting revision goes.
func (r *Reconciler) istiosBlockedBy(ctx context.Context, o client.Object) []reconcile.Request {
	list := &sailv1.IstioList{}
	if err := r.Client.List(ctx, list); err != nil {
		metrics.WatchLookupFailed(ctx, "istio", "IstioRevision", err)
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		istio := &list.Items[i]
		mayUse := o.GetName() == istio.Name || strings.HasPrefix(o.GetName(), istio.Name+"-")
		if mayUse && !metav1.IsControlledBy(o, istio) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(istio)})
		}
	}
	return out
}

func (r *Reconciler) event(istio *sailv1.Istio, eventType, reason, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(istio, nil, eventType, reason, "Reconcile", format, args...)
	}
}

// SetupWithManager registers the controller and the owner index of IstioRevisions.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &sailv1.IstioRevision{}, IndexOwner,
		func(o client.Object) []string {
			if ref := metav1.GetControllerOf(o); ref != nil && ref.Kind == sailv1.IstioKind {
				return []string{ref.Name}
			}
			return nil
		}); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).For(&sailv1.Istio{}).Owns(&sailv1.IstioRevision{}).Owns(&sailv1.IstioRevisionTag{}).
		Watches(&sailv1.IstioRevision{}, handler.EnqueueRequestsFromMapFunc(r.istiosBlockedBy)).
		Watches(&sailv1.ZTunnel{}, handler.EnqueueRequestsFromMapFunc(r.istioOfZTunnel)).
		Watches(&sailv1.ZTunnel{}, handler.EnqueueRequestsFromMapFunc(r.istiosHeldBySkew)).
		Watches(&sailv1.IstioCNI{}, handler.EnqueueRequestsFromMapFunc(r.istiosHeldBySkew)).
		Watches(lifecycle.NamespaceMetadata(), handler.EnqueueRequestsFromMapFunc(r.istiosInNamespace),
			builder.WithPredicates(networkLabelChanged()))
	return r.watchDiscovery(b).Named("istio").WithOptions(lifecycle.Options(concurrency)).Complete(r)
}
