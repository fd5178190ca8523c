package istio

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/skew"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// RevisionName returns the name of the IstioRevision that serves an Istio at a concrete version: the Istio's own
// name with the InPlace strategy, or <name>-<version with dots as dashes> with RevisionBased (built from the
// resolved version, so an alias that moves creates a new revision rather than upgrading one in place).
func RevisionName(istio *sailv1.Istio, version string) string {
	if istio.Spec.UpdateStrategy == nil || istio.Spec.UpdateStrategy.Type != sailv1.UpdateStrategyRevisionBased {
		return istio.Name
	}
	return istio.Name + "-" + strings.ReplaceAll(version, ".", "-")
}

// reconcileRevision resolves the version and creates or updates the active revision, recording both in out (a
// failure with its condition reason); it returns the revision as the API server returned it when it wrote it.
func (r *Reconciler) reconcileRevision(ctx context.Context, istio *sailv1.Istio, out *outcome) *sailv1.IstioRevision {
	version, err := r.Versions.Resolve(istio.Spec.Version)
	if err != nil {
		out.fail(sailv1.ReasonInvalidSpec, reconcile.TerminalError(err))
		return nil
	}
	out.version = version.Name
	out.active = RevisionName(istio, version.Name)
	written, reason, err := r.applyRevision(ctx, istio, out.active, version)
	out.fail(reason, err)
	return written
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

// applyRevision creates or updates the revision called name to serve the Istio at version; it returns the
// revision when it wrote it, and a condition reason with any error.
func (r *Reconciler) applyRevision(ctx context.Context, istio *sailv1.Istio, name string, version versions.Version) (*sailv1.IstioRevision, string, error) {
	existing, reason, err := r.existingRevision(ctx, istio, name, version.Name)
	if err != nil {
		return nil, reason, err
	}
	if existing == nil || existing.Spec.Version != version.Name {
		if reason, err := r.checkNodeComponents(ctx, name, version.Name); err != nil {
			return nil, reason, err
		}
	}
	desired, err := RevisionSpec(istio, name, version, r.Platform)
	if err != nil {
		return nil, sailv1.ReasonInvalidSpec, reconcile.TerminalError(err)
	}
	if err := r.trustZTunnel(ctx, istio, name, &desired); err != nil {
		return nil, sailv1.ReasonReconcileError, err
	}
	if existing == nil {
		return r.createRevision(ctx, istio, name, desired)
	}
	return r.updateRevision(ctx, istio, existing, desired)
}

// existingRevision reads the revision called name (nil when there is none) and checks that this Istio may move
// it to version.
func (r *Reconciler) existingRevision(ctx context.Context, istio *sailv1.Istio, name, version string) (*sailv1.IstioRevision, string, error) {
	existing := &sailv1.IstioRevision{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: name}, existing)
	switch {
	case apierrors.IsNotFound(err):
		return nil, "", nil
	case err != nil:
		return nil, sailv1.ReasonReconcileError, err
	case !metav1.IsControlledBy(existing, istio):
		return nil, sailv1.ReasonOwnershipConflict, reconcile.TerminalError(fmt.Errorf(
			"IstioRevision %s exists and does not belong to this Istio; delete it or rename the Istio "+
				"(the Istio recovers by itself once the name is free)", name))
	}
	if reason, err := CheckInPlaceMove(existing, version); err != nil {
		return nil, reason, reconcile.TerminalError(err)
	}
	return existing, "", nil
}

// CheckInPlaceMove refuses to move a revision in place to version when skew.CheckInPlace refuses the move from
// what its istiod runs (status.readyVersion) or from what it was last asked to run (spec.version, which may not
// have rolled out yet); it returns the condition reason with the error. The refusal lifts by itself once the
// requested version has rolled out: the revision's status change brings the Istio back.
func CheckInPlaceMove(rev *sailv1.IstioRevision, version string) (string, error) {
	if reason, err := skew.CheckInPlace(rev.Spec.Version, version); err != nil {
		return reason, err
	}
	running := rev.Status.ReadyVersion
	if running == "" || running == rev.Spec.Version {
		return "", nil
	}
	if reason, err := skew.CheckInPlace(running, version); err != nil {
		return reason, fmt.Errorf("IstioRevision %s still runs %s (%s has not rolled out yet): %w; %s is applied once the "+
			"revision is Ready at %s", rev.Name, running, rev.Spec.Version, err, version, rev.Spec.Version)
	}
	return "", nil
}

func (r *Reconciler) createRevision(ctx context.Context, istio *sailv1.Istio, name string, spec sailv1.IstioRevisionSpec) (*sailv1.IstioRevision, string, error) {
	rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	if err := controllerutil.SetControllerReference(istio, rev, r.Client.Scheme()); err != nil {
		return nil, sailv1.ReasonReconcileError, err
	}
	if err := r.Client.Create(ctx, rev); err != nil {
		return nil, sailv1.ReasonReconcileError, fmt.Errorf("creating IstioRevision %s: %w", name, err)
	}
	r.event(istio, corev1.EventTypeNormal, "RevisionCreated", "Created IstioRevision %s with Istio %s", name, spec.Version)
	return rev, "", nil
}

// updateRevision writes spec into an existing revision; nil when it already has it.
func (r *Reconciler) updateRevision(ctx context.Context, istio *sailv1.Istio, rev *sailv1.IstioRevision, spec sailv1.IstioRevisionSpec) (*sailv1.IstioRevision, string, error) {
	if equality.Semantic.DeepEqual(rev.Spec, spec) {
		return nil, "", nil
	}
	patch := client.MergeFrom(rev.DeepCopy())
	rev.Spec = spec
	if err := r.Client.Patch(ctx, rev, patch); err != nil {
		return nil, sailv1.ReasonReconcileError, fmt.Errorf("updating IstioRevision %s: %w", rev.Name, err)
	}
	r.event(istio, corev1.EventTypeNormal, "RevisionUpdated", "Updated IstioRevision %s to Istio %s", rev.Name, spec.Version)
	return rev, "", nil
}
