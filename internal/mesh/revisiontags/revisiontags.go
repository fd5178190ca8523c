// Package revisiontags answers the questions other controllers ask about IstioRevisionTags: which tags point at a
// revision (so a revision counts as in use while a tag that points at it is used), who wins a name conflict
// between a tag and a revision (or takes the name over), and which revisions to re-evaluate when a tag changes.
package revisiontags

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// TagsOf returns the sorted names of the tags whose status.istioRevision is revision.
func TagsOf(ctx context.Context, reader client.Reader, revision string) ([]string, error) {
	list := &sailv1.IstioRevisionTagList{}
	if err := reader.List(ctx, list); err != nil {
		return nil, err
	}
	var names []string
	for i := range list.Items {
		if list.Items[i].Status.IstioRevision == revision {
			names = append(names, list.Items[i].Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// RevisionWins tells whether an IstioRevision and an IstioRevisionTag of the same name are resolved in favour
// of the revision: the older resource wins, and the revision wins a tie (creation timestamps have a resolution of
// one second). Both sides of a conflict must use this rule.
func RevisionWins(revision, tag metav1.Object) bool {
	rc, tc := revision.GetCreationTimestamp(), tag.GetCreationTimestamp()
	return !tc.Before(&rc)
}

// TagTakesOver tells whether a tag takes its name over from an IstioRevision of the same name instead of either
// winning by age: both are controlled by the same Istio (the managed tag default of a RevisionBased Istio named
// default, and the revision default that Istio had with the InPlace strategy: the same user intent) and the tag
// is not being deleted. The tag then serves the name; the revision keeps running for the pods it injected.
func TagTakesOver(revision, tag metav1.Object) bool {
	r, t := metav1.GetControllerOf(revision), metav1.GetControllerOf(tag)
	return r != nil && t != nil && r.UID == t.UID && tag.GetDeletionTimestamp().IsZero()
}

// HandedOver tells whether a revision has handed its name over to the tag of the same name: the tag takes over
// (TagTakesOver) and has applied its webhooks for another revision. From then on the namespaces and pods that
// select the name are the tag's: the revision renders no injection webhook and they do not count as its usage.
func HandedOver(revision *sailv1.IstioRevision, tag *sailv1.IstioRevisionTag) bool {
	if !TagTakesOver(revision, tag) || tag.Status.IstioRevision == "" || tag.Status.IstioRevision == revision.Name {
		return false
	}
	c := meta.FindStatusCondition(tag.Status.Conditions, sailv1.ConditionReconciled)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == tag.Generation
}

// RevisionHandler enqueues the revision a tag points at (status.istioRevision) when the tag appears or goes,
// and both the old and the new revision when an update changes the revision or the tag's InUse condition. Add
// it to the IstioRevision controller (b.Watches(&sailv1.IstioRevisionTag{}, revisiontags.RevisionHandler())) so
// a revision's InUse follows the usage of its tags.
func RevisionHandler() handler.EventHandler {
	enqueue := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], o client.Object) {
		if tag, ok := o.(*sailv1.IstioRevisionTag); ok && tag.Status.IstioRevision != "" {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: tag.Status.IstioRevision}})
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, e.Object)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			before, ok1 := e.ObjectOld.(*sailv1.IstioRevisionTag)
			after, ok2 := e.ObjectNew.(*sailv1.IstioRevisionTag)
			if !ok1 || !ok2 {
				return
			}
			if before.Status.IstioRevision != after.Status.IstioRevision || inUse(before) != inUse(after) {
				enqueue(q, before)
				enqueue(q, after)
			}
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, e.Object)
		},
	}
}

func inUse(tag *sailv1.IstioRevisionTag) metav1.ConditionStatus {
	for _, c := range tag.Status.Conditions {
		if c.Type == sailv1.ConditionInUse {
			return c.Status
		}
	}
	return ""
}
