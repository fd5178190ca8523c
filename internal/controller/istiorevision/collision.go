package istiorevision

import (
	"context"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/revisiontag"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/mesh/revisiontags"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// lostTag is a tag of a revision's spec.values.revisionTags that it does not install, and why (for users).
type lostTag struct {
	name, message string
}

// lostValueTags returns the tags of the revision's spec.values.revisionTags that it holds (revision.ValueTags)
// but whose name an older claim has: another Istio's values (revisiontags.ValueClaims), or an older
// IstioRevisionTag (revisiontags.ValueClaimWins). The tag's webhook and Service are that claim's, the revision
// does not install them. Sorted as the values list them.
func (r *Reconciler) lostValueTags(ctx context.Context, rev *sailv1.IstioRevision) ([]lostTag, error) {
	if len(revision.IndexValueTags(rev)) == 0 {
		return nil, nil
	}
	all := &sailv1.IstioRevisionList{}
	if err := r.Client.List(ctx, all); err != nil {
		return nil, err
	}
	var lost []lostTag
	for _, name := range revision.ValueTags(rev, all.Items) {
		holder, err := revisiontags.ValueHolder(ctx, r.Client, name, all.Items)
		if err != nil {
			return nil, err
		}
		if holder != nil && holder.Revision.Name != rev.Name {
			lost = append(lost, lostTag{name, revisiontags.ValuesCollisionMessage(name, holder.Claimant)})
			continue
		}
		claimant, err := revisiontags.Claimant(ctx, r.Client, rev)
		if err != nil {
			return nil, err
		}
		tag := &sailv1.IstioRevisionTag{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, tag); err != nil {
			if client.IgnoreNotFound(err) != nil {
				return nil, err
			}
			continue
		}
		if tag.DeletionTimestamp.IsZero() && !revisiontags.ValueClaimWins(claimant, tag) {
			lost = append(lost, lostTag{name, revisiontags.CollisionMessage(name, nil, true)})
		}
	}
	return lost, nil
}

// lostNames returns the names of the lost tags.
func lostNames(lost []lostTag) []string {
	names := make([]string, 0, len(lost))
	for _, l := range lost {
		names = append(names, l.name)
	}
	return names
}

// withoutTags drops the webhooks and Services the istiod chart renders for the given value tags.
func withoutTags(objs []*unstructured.Unstructured, tags []string) []*unstructured.Unstructured {
	out := objs[:0:0]
	for _, u := range objs {
		if t, ok := u.GetLabels()[revisiontag.LabelTag]; ok && slices.Contains(tags, t) {
			continue
		}
		out = append(out, u)
	}
	return out
}

// setValueTagsCondition sets ValueTagsInstalled on a revision whose values declare tags (removes it otherwise):
// False with reason InjectionCollision naming the older claims (IstioRevisionTags, other Istios' values) that
// serve the lost tags.
func setValueTagsCondition(rev *sailv1.IstioRevision, lost []lostTag) {
	if len(revision.IndexValueTags(rev)) == 0 {
		meta.RemoveStatusCondition(&rev.Status.Conditions, sailv1.ConditionValueTagsInstalled)
		return
	}
	if len(lost) == 0 {
		status.Set(&rev.Status.Conditions, rev.Generation, sailv1.ConditionValueTagsInstalled, metav1.ConditionTrue,
			sailv1.ReasonReconcileSucceeded, "Every tag of spec.values.revisionTags that this revision holds is installed.")
		return
	}
	msgs := make([]string, 0, len(lost))
	for _, l := range lost {
		msgs = append(msgs, l.message)
	}
	status.Set(&rev.Status.Conditions, rev.Generation, sailv1.ConditionValueTagsInstalled, metav1.ConditionFalse,
		sailv1.ReasonInjectionCollision, strings.Join(msgs, " "))
}

// revisionsDeclaring maps an IstioRevisionTag to the revisions whose spec.values.revisionTags declare its name,
// so that a collision is re-evaluated when the tag appears or goes.
func (r *Reconciler) revisionsDeclaring(ctx context.Context, o client.Object) []reconcile.Request {
	list := &sailv1.IstioRevisionList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{revision.IndexValueTag: o.GetName()}); err != nil {
		metrics.WatchLookupFailed(ctx, "istiorevision", "IstioRevisionTag", err)
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}
