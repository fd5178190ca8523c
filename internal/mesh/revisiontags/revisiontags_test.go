package revisiontags

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/workqueue"
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
