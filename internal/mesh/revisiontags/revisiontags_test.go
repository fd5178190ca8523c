package revisiontags

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func tag(name, rev string, inUse metav1.ConditionStatus) *sailv1.IstioRevisionTag {
	t := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: sailv1.IstioRevisionTagStatus{IstioRevision: rev}}
	if inUse != "" {
		t.Status.Conditions = []metav1.Condition{{Type: sailv1.ConditionInUse, Status: inUse}}
	}
	return t
}

func TestTagsOf_ListsTheTagsThatPointAtARevision(t *testing.T) {
	g := NewWithT(t)
	s := runtime.NewScheme()
	g.Expect(sailv1.AddToScheme(s)).To(Succeed())
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(tag("prod", "r1", ""), tag("canary", "r2", ""), tag("beta", "r1", ""), tag("new", "", "")).Build()
	names, err := TagsOf(context.Background(), c, "r1")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names).To(Equal([]string{"beta", "prod"}))
	names, err = TagsOf(context.Background(), c, "r3")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names).To(BeEmpty())
}

func TestRevisionHandler_EnqueuesRevisionsWhenATagMovesOrItsUsageChanges(t *testing.T) {
	g := NewWithT(t)
	h := RevisionHandler()
	drain := func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) []string {
		var out []string
		for q.Len() > 0 {
			r, _ := q.Get()
			out = append(out, r.Name)
			q.Done(r)
		}
		return out
	}
	newQ := func() workqueue.TypedRateLimitingInterface[reconcile.Request] {
		return workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	}
	ctx := context.Background()

	q := newQ()
	h.Create(ctx, event.CreateEvent{Object: tag("prod", "r1", "")}, q)
	g.Expect(drain(q)).To(Equal([]string{"r1"}))

	q = newQ()
	h.Update(ctx, event.UpdateEvent{ObjectOld: tag("prod", "r1", "False"), ObjectNew: tag("prod", "r2", "False")}, q)
	g.Expect(drain(q)).To(ConsistOf("r1", "r2"))

	q = newQ()
	h.Update(ctx, event.UpdateEvent{ObjectOld: tag("prod", "r1", "False"), ObjectNew: tag("prod", "r1", "True")}, q)
	g.Expect(drain(q)).To(Equal([]string{"r1"}))

	q = newQ()
	h.Update(ctx, event.UpdateEvent{ObjectOld: tag("prod", "r1", "True"), ObjectNew: tag("prod", "r1", "True")}, q)
	g.Expect(drain(q)).To(BeEmpty(), "other updates enqueue nothing")

	q = newQ()
	h.Delete(ctx, event.DeleteEvent{Object: tag("prod", "r1", "True")}, q)
	g.Expect(drain(q)).To(Equal([]string{"r1"}))
}

func TestTagTakesOverAndHandedOver(t *testing.T) {
	g := NewWithT(t)
	owner := func(uid string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{Kind: sailv1.IstioKind, Name: "default", UID: types.UID(uid), Controller: ptr.To(true)}}
	}
	rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "default", OwnerReferences: owner("istio-1")}}
	serving := func() *sailv1.IstioRevisionTag {
		t := tag("default", "default-v1-31-0", "")
		t.OwnerReferences, t.Generation = owner("istio-1"), 2
		t.Status.Conditions = []metav1.Condition{{Type: sailv1.ConditionReconciled, Status: metav1.ConditionTrue, ObservedGeneration: 2}}
		return t
	}
	g.Expect(TagTakesOver(rev, serving())).To(BeTrue(), "same Istio")
	g.Expect(HandedOver(rev, serving())).To(BeTrue(), "the tag serves another revision")

	other := serving()
	other.OwnerReferences = owner("istio-2")
	g.Expect(TagTakesOver(rev, other)).To(BeFalse(), "another Istio's tag")
	user := serving()
	user.OwnerReferences = nil
	g.Expect(TagTakesOver(rev, user)).To(BeFalse(), "a tag the user made")
	deleting := serving()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	g.Expect(TagTakesOver(rev, deleting)).To(BeFalse(), "a tag being deleted gives the name back")

	waiting := serving()
	waiting.Status.IstioRevision = ""
	g.Expect(HandedOver(rev, waiting)).To(BeFalse(), "the tag does not serve yet")
	stale := serving()
	stale.Generation = 3
	g.Expect(HandedOver(rev, stale)).To(BeFalse(), "the tag has not reconciled its latest spec")
	self := serving()
	self.Status.IstioRevision = "default"
	g.Expect(HandedOver(rev, self)).To(BeFalse(), "a tag that points at the revision itself")
}
