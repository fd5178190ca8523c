// Package istio reconciles Istio resources: it resolves the version, computes the values of the control plane's
// IstioRevision, creates or updates that revision, and reports the revisions' state on the Istio.
package istio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/mesh/workloads"
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
	if !controllerutil.ContainsFinalizer(istio, Finalizer) {
		patch := client.MergeFromWithOptions(istio.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(istio, Finalizer)
		if err := r.Client.Patch(ctx, istio, patch); err != nil {
			return ctrl.Result{}, err
		}
	}
	log.FromContext(ctx).V(1).Info("reconciling")
	before := istio.Status.DeepCopy()
	active, written, reason, err := r.reconcileRevision(ctx, istio)
	log.FromContext(ctx).V(1).Info("revision reconciled")
	revs, listErr := r.revisions(ctx, istio)
	if listErr != nil {
		return ctrl.Result{}, errors.Join(err, listErr)
	}
	revs = newest(revs, written)
	if err == nil {
		err = r.reconcileDefaultTag(ctx, istio)
		if err != nil {
			reason = sailv1.ReasonReconcileError
		}
	}
	var result ctrl.Result
	if active != "" {
		var pruneErr error
		result, pruneErr = r.pruneInactive(ctx, istio, revs, active)
		if pruneErr != nil && err == nil {
			reason = sailv1.ReasonReconcileError
		}
		err = errors.Join(err, pruneErr)
	}
	// Moving workloads reports its own failures in the WorkloadsMigrated condition, not in Reconciled: the
	// control plane itself is fine. The error still comes back for a retry with backoff.
	var migrateErr error
	if err == nil && r.Migrator != nil {
		var wait time.Duration
		wait, migrateErr = r.migrate(ctx, istio, revs, active)
		if wait > 0 && (result.RequeueAfter == 0 || wait < result.RequeueAfter) {
			result.RequeueAfter = wait
		}
	}
	r.setStatus(istio, revs, active, reason, err)
	if statusErr := r.patchStatus(ctx, istio, before); statusErr != nil {
		err = errors.Join(err, statusErr)
	}
	return result, errors.Join(err, migrateErr)
}

// migrate moves workloads from the Istio's other revisions to the active one, a batch per step.
func (r *Reconciler) migrate(ctx context.Context, istio *sailv1.Istio, revs []sailv1.IstioRevision, active string) (time.Duration, error) {
	var activeRev *sailv1.IstioRevision
	var old []string
	for i := range revs {
		if revs[i].Name == active {
			activeRev = &revs[i]
		} else {
			old = append(old, revs[i].Name)
		}
	}
	return r.Migrator.Step(ctx, istio, activeRev, old, time.Now())
}

// RevisionName returns the name of the IstioRevision that serves an Istio at a concrete version: the Istio's own
// name with the InPlace strategy, or <name>-<version with dots as dashes> with RevisionBased (built from the
// resolved version, so an alias that moves creates a new revision rather than upgrading one in place).
func RevisionName(istio *sailv1.Istio, version string) string {
	if istio.Spec.UpdateStrategy == nil || istio.Spec.UpdateStrategy.Type != sailv1.UpdateStrategyRevisionBased {
		return istio.Name
	}
	return istio.Name + "-" + strings.ReplaceAll(version, ".", "-")
}

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
		tag = &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: sailv1.DefaultRevision},
			Spec: sailv1.IstioRevisionTagSpec{TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: istio.Name}}}
		if err := controllerutil.SetControllerReference(istio, tag, r.Client.Scheme()); err != nil {
			return err
		}
		if err := r.Client.Create(ctx, tag); err != nil {
			return fmt.Errorf("creating the managed default IstioRevisionTag: %w", err)
		}
		r.event(istio, corev1.EventTypeNormal, "DefaultTagCreated",
			"Created IstioRevisionTag default, which follows the active revision for namespaces labelled istio-injection=enabled")
	case !wanted && ours:
		if err := r.Client.Delete(ctx, tag); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting the managed default IstioRevisionTag: %w", err)
		}
	}
	return nil
}

// AnnotationInactiveSince records on an IstioRevision when it stopped being its Istio's active revision.
const AnnotationInactiveSince = "sailoperator.io/inactive-since"

// pruneInactive deletes the Istio's non-active revisions that have been unused for the grace period, and returns
// when to look again for those that are not due yet. A revision whose usage is unknown is kept.
func (r *Reconciler) pruneInactive(ctx context.Context, istio *sailv1.Istio, revs []sailv1.IstioRevision, active string) (ctrl.Result, error) {
	grace := 30 * time.Second
	if us := istio.Spec.UpdateStrategy; us != nil && us.InactiveRevisionDeletionGracePeriodSeconds != nil {
		grace = time.Duration(*us.InactiveRevisionDeletionGracePeriodSeconds) * time.Second
	}
	now := time.Now()
	var next time.Duration
	for i := range revs {
		rev := &revs[i]
		if !rev.DeletionTimestamp.IsZero() {
			continue
		}
		since, marked := rev.Annotations[AnnotationInactiveSince]
		if rev.Name == active {
			if marked {
				if err := r.setInactiveSince(ctx, rev, ""); err != nil {
					return ctrl.Result{}, err
				}
			}
			continue
		}
		inactiveSince, err := time.Parse(time.RFC3339, since)
		if !marked || err != nil {
			inactiveSince = now
			if err := r.setInactiveSince(ctx, rev, now.UTC().Format(time.RFC3339)); err != nil {
				return ctrl.Result{}, err
			}
		}
		deadline, ok := revision.PruneAfter(rev, inactiveSince, grace)
		if !ok {
			continue // in use, or usage unknown: the revision's InUse change brings us back
		}
		if wait := deadline.Sub(now); wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		if err := r.Client.Delete(ctx, rev); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("deleting unused IstioRevision %s: %w", rev.Name, err)
		}
		log.FromContext(ctx).Info("deleted an unused inactive revision", "revision", rev.Name, "gracePeriod", grace)
		r.event(istio, corev1.EventTypeNormal, "RevisionPruned",
			"Deleted IstioRevision %s: not active and unused for %s", rev.Name, grace)
	}
	return ctrl.Result{RequeueAfter: next}, nil
}

func (r *Reconciler) setInactiveSince(ctx context.Context, rev *sailv1.IstioRevision, value string) error {
	patch := client.MergeFrom(rev.DeepCopy())
	if value == "" {
		delete(rev.Annotations, AnnotationInactiveSince)
	} else {
		if rev.Annotations == nil {
			rev.Annotations = map[string]string{}
		}
		rev.Annotations[AnnotationInactiveSince] = value
	}
	return client.IgnoreNotFound(r.Client.Patch(ctx, rev, patch))
}

// reconcileRevision creates or updates the active revision and returns its name, and the revision as the API
// server returned it when this call wrote it; on failure it returns a condition reason with the error (and the
// active revision's name when known).
func (r *Reconciler) reconcileRevision(ctx context.Context, istio *sailv1.Istio) (string, *sailv1.IstioRevision, string, error) {
	version, err := r.Versions.Resolve(istio.Spec.Version)
	if err != nil {
		return "", nil, sailv1.ReasonInvalidSpec, reconcile.TerminalError(err)
	}
	istio.Status.Version = version.Name
	name := RevisionName(istio, version.Name)
	written, reason, err := r.applyRevision(ctx, istio, name, version)
	return name, written, reason, err
}

// newest replaces a cached revision with the one just written when the cache has not caught up with it yet, so
// that the Istio never mirrors the readiness of a revision's previous generation.
func newest(revs []sailv1.IstioRevision, written *sailv1.IstioRevision) []sailv1.IstioRevision {
	if written == nil {
		return revs
	}
	for i := range revs {
		if revs[i].Name == written.Name {
			if revs[i].Generation < written.Generation {
				revs[i] = *written
			}
			return revs
		}
	}
	return append(revs, *written)
}

func (r *Reconciler) applyRevision(ctx context.Context, istio *sailv1.Istio, name string, version versions.Version) (*sailv1.IstioRevision, string, error) {
	existing := &sailv1.IstioRevision{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: name}, existing)
	switch {
	case apierrors.IsNotFound(err):
		existing = nil
	case err != nil:
		return nil, sailv1.ReasonReconcileError, err
	}
	if existing != nil {
		if !metav1.IsControlledBy(existing, istio) {
			return nil, sailv1.ReasonReconcileError, reconcile.TerminalError(fmt.Errorf(
				"IstioRevision %s exists and does not belong to this Istio; delete it or rename the Istio", name))
		}
		if err := checkInPlaceUpgrade(existing.Spec.Version, version.Name); err != nil {
			return nil, sailv1.ReasonUpgradeRefused, reconcile.TerminalError(err)
		}
	}
	desired, err := RevisionSpec(istio, name, version, r.Platform)
	if err != nil {
		return nil, sailv1.ReasonInvalidSpec, reconcile.TerminalError(err)
	}
	if existing != nil {
		if equality.Semantic.DeepEqual(existing.Spec, desired) {
			return nil, "", nil
		}
		patch := client.MergeFrom(existing.DeepCopy())
		existing.Spec = desired
		if err := r.Client.Patch(ctx, existing, patch); err != nil {
			return nil, sailv1.ReasonReconcileError, fmt.Errorf("updating IstioRevision %s: %w", name, err)
		}
		r.event(istio, corev1.EventTypeNormal, "RevisionUpdated", "Updated IstioRevision %s to Istio %s", name, version.Name)
		return existing, "", nil
	}
	rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: desired}
	if err := controllerutil.SetControllerReference(istio, rev, r.Client.Scheme()); err != nil {
		return nil, sailv1.ReasonReconcileError, err
	}
	if err := r.Client.Create(ctx, rev); err != nil {
		return nil, sailv1.ReasonReconcileError, fmt.Errorf("creating IstioRevision %s: %w", name, err)
	}
	r.event(istio, corev1.EventTypeNormal, "RevisionCreated", "Created IstioRevision %s with Istio %s", name, version.Name)
	return rev, "", nil
}

// RevisionSpec returns the spec of the IstioRevision named name that serves an Istio at a concrete version on a
// platform: the version, the namespace and the merged values (values.ForRevision).
func RevisionSpec(istio *sailv1.Istio, name string, version versions.Version, platform values.Platform) (sailv1.IstioRevisionSpec, error) {
	vals, err := values.ForRevision(values.Input{Version: version, Profile: istio.Spec.Profile, Platform: platform,
		User: istio.Spec.Values, Revision: name, Namespace: istio.Spec.Namespace})
	if err != nil {
		return sailv1.IstioRevisionSpec{}, err
	}
	return sailv1.IstioRevisionSpec{Version: version.Name, Namespace: istio.Spec.Namespace, Values: vals}, nil
}

// checkInPlaceUpgrade refuses in-place moves of more than one minor version, which Istio does not support.
func checkInPlaceUpgrade(from, to string) error {
	d, err := versions.MinorDistance(from, to)
	if err != nil {
		return err
	}
	if d > 1 || d < -1 {
		return fmt.Errorf("cannot move the control plane in place from %s to %s: Istio supports in-place upgrades and "+
			"downgrades of one minor version at a time; go through the versions in between, or use the RevisionBased update strategy", from, to)
	}
	return nil
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

// setStatus computes the Istio's status from its own reconcile and its revisions.
func (r *Reconciler) setStatus(istio *sailv1.Istio, revs []sailv1.IstioRevision, activeName, reason string, reconcileErr error) {
	st := &istio.Status
	gen := istio.Generation
	st.Revisions = sailv1.RevisionSummary{Total: int32(len(revs))}
	var active *sailv1.IstioRevision
	for i := range revs {
		if status.True(revs[i].Status.Conditions, sailv1.ConditionReady) {
			st.Revisions.Ready++
		}
		if !meta.IsStatusConditionFalse(revs[i].Status.Conditions, sailv1.ConditionInUse) {
			st.Revisions.InUse++
		}
		if revs[i].Name == activeName {
			active = &revs[i]
		}
	}
	if active != nil {
		st.ActiveRevisionName = active.Name
	}
	switch {
	case reconcileErr != nil:
		status.Set(&st.Conditions, gen, sailv1.ConditionReconciled, metav1.ConditionFalse, reason, reconcileErr.Error())
	case active == nil:
		status.Set(&st.Conditions, gen, sailv1.ConditionReconciled, metav1.ConditionFalse, sailv1.ReasonRevisionNotFound,
			"The active IstioRevision does not exist yet.")
	default:
		mirror(st, gen, active, sailv1.ConditionReconciled, "The active IstioRevision has not been reconciled yet.")
	}
	if active == nil {
		status.Set(&st.Conditions, gen, sailv1.ConditionReady, metav1.ConditionFalse, sailv1.ReasonRevisionNotFound,
			"The active IstioRevision does not exist yet.")
		status.Set(&st.Conditions, gen, sailv1.ConditionDependenciesHealthy, metav1.ConditionUnknown, sailv1.ReasonRevisionNotFound,
			"The active IstioRevision does not exist yet.")
	} else {
		mirror(st, gen, active, sailv1.ConditionReady, "The active IstioRevision has not reported readiness yet.")
		mirror(st, gen, active, sailv1.ConditionDependenciesHealthy, "The active IstioRevision has not reported its dependencies yet.")
		if reconcileErr == nil && active.Status.ObservedGeneration != active.Generation {
			status.Set(&st.Conditions, gen, sailv1.ConditionReady, metav1.ConditionFalse, sailv1.ReasonNotReady,
				"The active IstioRevision has not applied its latest spec yet.")
		}
	}
	if reconcileErr != nil {
		status.Set(&st.Conditions, gen, sailv1.ConditionReady, metav1.ConditionFalse, sailv1.ReasonNotReady,
			"The control plane is not ready because the last reconcile failed; see the Reconciled condition.")
	}
	st.ObservedGeneration = gen
	status.SetKstatus(&st.Conditions, gen)
	st.State = status.State(st.Conditions)
}

// mirror copies a condition of the revision onto the Istio, or sets it Unknown when the revision lacks it.
func mirror(st *sailv1.IstioStatus, gen int64, rev *sailv1.IstioRevision, condType, missing string) {
	c := meta.FindStatusCondition(rev.Status.Conditions, condType)
	if c == nil {
		status.Set(&st.Conditions, gen, condType, metav1.ConditionUnknown, sailv1.ReasonNotReady, missing)
		return
	}
	status.Set(&st.Conditions, gen, condType, c.Status, c.Reason, c.Message)
}

func (r *Reconciler) patchStatus(ctx context.Context, istio *sailv1.Istio, before *sailv1.IstioStatus) error {
	if equality.Semantic.DeepEqual(before, &istio.Status) {
		return nil
	}
	return status.Patch(ctx, r.Client, istio, istio.Status, "activeRevisionName", "version", "workloadMigration")
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
	patch := client.MergeFromWithOptions(istio.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(istio, Finalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Patch(ctx, istio, patch))
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
	return ctrl.NewControllerManagedBy(mgr).For(&sailv1.Istio{}).Owns(&sailv1.IstioRevision{}).Owns(&sailv1.IstioRevisionTag{}).Named("istio").
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).Complete(r)
}
