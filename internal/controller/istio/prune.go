package istio

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/revision"
)

// AnnotationInactiveSince records on an IstioRevision when it stopped being its Istio's active revision.
const AnnotationInactiveSince = "sailoperator.io/inactive-since"

// DefaultRemoteRecheck is how often a revision kept for remote clusters is looked at again by default.
const DefaultRemoteRecheck = time.Minute

// pruneInactive deletes the Istio's non-active revisions that have been unused for the grace period, here and in
// the remote clusters of its control plane, and returns when to look again for those that are not due yet, and
// why revisions due were kept for remote clusters. A revision whose usage is unknown is kept.
func (r *Reconciler) pruneInactive(ctx context.Context, istio *sailv1.Istio, revs []sailv1.IstioRevision, active string) (ctrl.Result, []string, error) {
	grace := 30 * time.Second
	if us := istio.Spec.UpdateStrategy; us != nil && us.InactiveRevisionDeletionGracePeriodSeconds != nil {
		grace = time.Duration(*us.InactiveRevisionDeletionGracePeriodSeconds) * time.Second
	}
	now := time.Now()
	var next time.Duration
	var kept []string
	for i := range revs {
		wait, why, err := r.pruneIfDue(ctx, istio, &revs[i], active, grace, now)
		if err != nil {
			return ctrl.Result{}, kept, err
		}
		if why != "" {
			kept = append(kept, why)
		}
		next = sooner(next, wait)
	}
	return ctrl.Result{RequeueAfter: next}, kept, nil
}

// pruneIfDue deletes a revision that has been inactive and unused for the grace period, marking when it became
// inactive (or, for the active revision, unmarking it); otherwise it returns how long until it is due (0: not
// as things stand), and why it is kept when it is due but a remote cluster may use it.
func (r *Reconciler) pruneIfDue(ctx context.Context, istio *sailv1.Istio, rev *sailv1.IstioRevision, active string, grace time.Duration, now time.Time) (time.Duration, string, error) {
	if !rev.DeletionTimestamp.IsZero() {
		return 0, "", nil
	}
	if rev.Name == active {
		if _, marked := rev.Annotations[AnnotationInactiveSince]; !marked {
			return 0, "", nil
		}
		return 0, "", r.setInactiveSince(ctx, rev, "")
	}
	inactiveSince, err := r.inactiveSince(ctx, rev, now)
	if err != nil {
		return 0, "", err
	}
	deadline, ok := revision.PruneAfter(rev, inactiveSince, grace)
	if !ok {
		return 0, "", nil // in use, or usage unknown: the revision's InUse change brings us back
	}
	if wait := deadline.Sub(now); wait > 0 {
		return wait, "", nil
	}
	if why, err := r.remoteKeepReason(ctx, istio, rev); why != "" || err != nil {
		return r.remoteRecheck(), why, err
	}
	if err := r.Client.Delete(ctx, rev); client.IgnoreNotFound(err) != nil {
		return 0, "", fmt.Errorf("deleting unused IstioRevision %s: %w", rev.Name, err)
	}
	log.FromContext(ctx).Info("deleted an unused inactive revision", "revision", rev.Name, "gracePeriod", grace)
	r.event(istio, corev1.EventTypeNormal, "RevisionPruned", "Deleted IstioRevision %s: not active and unused for %s", rev.Name, grace)
	return 0, "", nil
}

// remoteKeepReason returns why a revision that is due for deletion is kept for the remote clusters of the Istio's
// control plane ("" when none may use it), logging and recording it.
func (r *Reconciler) remoteKeepReason(ctx context.Context, istio *sailv1.Istio, rev *sailv1.IstioRevision) (string, error) {
	if r.RemoteUsage == nil {
		return "", nil
	}
	tags := &sailv1.IstioRevisionTagList{}
	if err := r.Client.List(ctx, tags); err != nil {
		return "", fmt.Errorf("listing the IstioRevisionTags that may point at IstioRevision %s: %w", rev.Name, err)
	}
	var names []string
	for _, tag := range tags.Items {
		if tag.Status.IstioRevision == rev.Name {
			names = append(names, tag.Name)
		}
	}
	why := r.RemoteUsage.KeepReason(ctx, istio.Spec.Namespace, rev.Name, names...)
	if why == "" {
		return "", nil
	}
	why = fmt.Sprintf("IstioRevision %s: %s", rev.Name, why)
	log.FromContext(ctx).Info("keeping an unused inactive revision for remote clusters", "revision", rev.Name,
		"reason", why, "recheckIn", r.remoteRecheck())
	r.event(istio, corev1.EventTypeNormal, "RevisionKept", "Kept %s", why)
	return why, nil
}

// inactiveSince returns when a non-active revision became inactive, marking it as inactive from now when it
// carries no (valid) mark yet.
func (r *Reconciler) inactiveSince(ctx context.Context, rev *sailv1.IstioRevision, now time.Time) (time.Time, error) {
	if since, err := time.Parse(time.RFC3339, rev.Annotations[AnnotationInactiveSince]); err == nil {
		return since, nil
	}
	return now, r.setInactiveSince(ctx, rev, now.UTC().Format(time.RFC3339))
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

func (r *Reconciler) remoteRecheck() time.Duration {
	if r.RemoteRecheck > 0 {
		return r.RemoteRecheck
	}
	return DefaultRemoteRecheck
}
