package lifecycle

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

// NewBuilder returns the builder of a controller named name for the kind of obj, reconciling concurrency
// resources at a time and watching the objects of the owned kinds they control (a change or deletion of one
// brings its owner back to repair it). A deleted object of an owned kind is also forgotten by applier, so that
// what it remembers shrinks with what exists (see apply.Applier.ForgetDeleted). Each owned kind costs one event
// handler (the informer runs two goroutines and a buffer for each).
func NewBuilder(mgr ctrl.Manager, applier *apply.Applier, obj client.Object, name string, concurrency int, owned ...client.Object) *builder.Builder {
	b := ctrl.NewControllerManagedBy(mgr).For(obj).Named(name).
		WithOptions(Options(concurrency))
	for _, o := range owned {
		gvk, err := apiutil.GVKForObject(o, mgr.GetScheme())
		if err != nil {
			b = b.Owns(o)
			continue
		}
		owner := handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), obj, handler.OnlyControllerOwner())
		b = b.Watches(o, ForgetOnDelete(applier, gvk.GroupKind(), owner))
	}
	return b
}

// ForgetOnDelete returns next (an owner's handler), which also tells applier to forget each deleted object of
// kind gk.
func ForgetOnDelete(applier *apply.Applier, gk schema.GroupKind, next handler.EventHandler) handler.EventHandler {
	return forgetOnDelete{EventHandler: next, applier: applier, gk: gk}
}

// forgetOnDelete is the handler ForgetOnDelete returns.
type forgetOnDelete struct {
	handler.EventHandler
	applier *apply.Applier
	gk      schema.GroupKind
}

// Delete forgets the object, then passes the event on.
func (h forgetOnDelete) Delete(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.applier.ForgetDeleted(h.gk, e.Object)
	h.EventHandler.Delete(ctx, e, q)
}

// NamespaceMetadata returns an empty Namespace as metadata only, to read or watch namespaces without their spec
// and status.
func NamespaceMetadata() *metav1.PartialObjectMetadata {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ns
}

// WatchUsage adds to b the watches of the namespaces and pods that select a revision (or tag) by name: the
// resource they name is enqueued when the first one starts or the last one stops selecting it, and with resolve
// (optional) also the resources resolve returns for that name (e.g. the revisions whose values declare it as a
// tag).
func WatchUsage(b *builder.Builder, resolve ...Resolve) *builder.Builder {
	b = b.WatchesMetadata(NamespaceMetadata(), EnqueueOnUsageFlip(func(o client.Object) string {
		return revision.NamespaceRevision(o.GetLabels())
	}, resolve...))
	return b.WatchesMetadata(revision.PodMetadata(), EnqueueOnUsageFlip(func(o client.Object) string {
		return revision.RevisionOfPod(o)
	}, resolve...))
}

// Resolve maps a name an object selects to more names of resources to enqueue.
type Resolve func(ctx context.Context, name string) []string

// EnqueueByName returns a handler that enqueues the resource nameOf names for an object when the object appears
// or goes, and both the old and the new one when an update changes the name; other updates and an empty name
// enqueue nothing. Each resolve adds the names it maps an enqueued name to. Names that are not resources of the
// controller's kind are dropped by its Reconcile.
func EnqueueByName(nameOf func(client.Object) string, resolve ...Resolve) handler.EventHandler {
	return enqueueNames(nameOf, func(string, int) bool { return true }, resolve)
}

// EnqueueOnUsageFlip is EnqueueByName for the many objects that select a resource by name (pods, namespaces): it
// counts, per name, the objects that select it and enqueues the name only when its count leaves or reaches zero,
// the only changes that can flip the resource's usage. Pods coming and going beside others of the same name cost
// nothing. Each call counts on its own, so give each watch its own handler.
func EnqueueOnUsageFlip(nameOf func(client.Object) string, resolve ...Resolve) handler.EventHandler {
	counts := &selectorCounts{n: map[string]int{}}
	return enqueueNames(nameOf, counts.change, resolve)
}

// selectorCounts counts the objects that select each name.
type selectorCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// change adds delta to the count of name and reports whether the count left or reached zero. A removal of a name
// never counted (which an informer should not send) is reported too, so its resource is looked at.
func (c *selectorCounts) change(name string, delta int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.n[name]
	after := before + delta
	if after <= 0 {
		delete(c.n, name)
		return true
	}
	c.n[name] = after
	return before == 0
}

func enqueueNames(nameOf func(client.Object) string, gate func(string, int) bool, resolve []Resolve) handler.EventHandler {
	enqueue := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], name string, delta int) {
		if name == "" || !gate(name, delta) {
			return
		}
		q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: name}})
		for _, r := range resolve {
			for _, more := range r(ctx, name) {
				q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: more}})
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, nameOf(e.Object), 1)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if before, after := nameOf(e.ObjectOld), nameOf(e.ObjectNew); before != after {
				enqueue(ctx, q, before, -1)
				enqueue(ctx, q, after, 1)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, nameOf(e.Object), -1)
		},
	}
}
