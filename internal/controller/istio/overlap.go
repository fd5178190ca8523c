package istio

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/mesh/discovery"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// overlaps returns the older Istios whose istiods discover some of the namespaces this Istio's does, when one of
// the two asked for isolation (discovery.Overlaps), from the cache's Istios and namespaces. Namespaces are not
// listed when no Istio sets discoverySelectors.
func (r *Reconciler) overlaps(ctx context.Context, istio *sailv1.Istio) ([]discovery.Overlap, error) {
	istios := &sailv1.IstioList{}
	if err := r.Client.List(ctx, istios); err != nil {
		return nil, fmt.Errorf("listing Istios to compare their discoverySelectors: %w", err)
	}
	if len(istios.Items) < 2 || !anyIsolated(istios.Items) {
		return nil, nil
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := r.Client.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing namespaces to compare the Istios' discoverySelectors: %w", err)
	}
	namespaces := make(map[string]map[string]string, len(list.Items))
	for i := range list.Items {
		namespaces[list.Items[i].Name] = list.Items[i].Labels
	}
	return discovery.Overlaps(istio, istios.Items, namespaces), nil
}

func anyIsolated(istios []sailv1.Istio) bool {
	for i := range istios {
		if discovery.ScopeOf(&istios[i]).Isolated {
			return true
		}
	}
	return false
}

// setDiscoveryOverlapCondition sets DiscoveryOverlap=True/NamespacesShared while older Istios discover the same
// namespaces (see discovery.Overlaps), and removes it when none does. When the overlaps could not be computed
// (known false) the condition stays as it was.
func setDiscoveryOverlapCondition(st *sailv1.IstioStatus, gen int64, isolated, known bool, overlaps []discovery.Overlap) {
	switch {
	case !known:
	case len(overlaps) == 0:
		meta.RemoveStatusCondition(&st.Conditions, sailv1.ConditionDiscoveryOverlap)
	default:
		status.Set(&st.Conditions, gen, sailv1.ConditionDiscoveryOverlap, metav1.ConditionTrue,
			sailv1.ReasonNamespacesShared, discovery.Message(isolated, overlaps))
	}
}

// eventOnNewOverlap records a Warning event when the DiscoveryOverlap condition appears or its message changes.
func (r *Reconciler) eventOnNewOverlap(istio *sailv1.Istio, before *sailv1.IstioStatus) {
	now := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionDiscoveryOverlap)
	if now == nil {
		return
	}
	if was := meta.FindStatusCondition(before.Conditions, sailv1.ConditionDiscoveryOverlap); was != nil && was.Message == now.Message {
		return
	}
	r.event(istio, corev1.EventTypeWarning, sailv1.ReasonNamespacesShared, "%s", now.Message)
}

// watchDiscovery adds the watches that re-evaluate DiscoveryOverlap: a namespace that appears, goes or changes
// its labels enqueues the Istios that discover it, only when an Istio with discoverySelectors does
// (discovery.Concerned); an Istio that appears, goes or changes its discoverySelectors enqueues the others.
func (r *Reconciler) watchDiscovery(b *builder.Builder) *builder.Builder {
	b = b.WatchesMetadata(lifecycle.NamespaceMetadata(), handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.enqueueConcerned(ctx, q, e.Object.GetLabels())
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if !equalLabels(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()) {
				r.enqueueConcerned(ctx, q, e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.enqueueConcerned(ctx, q, e.Object.GetLabels())
		},
	})
	return b.Watches(&sailv1.Istio{}, handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.enqueueOthers(ctx, q, e.Object)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			before, ok1 := e.ObjectOld.(*sailv1.Istio)
			after, ok2 := e.ObjectNew.(*sailv1.Istio)
			if ok1 && ok2 && (discovery.SelectorsChanged(before, after) || before.DeletionTimestamp.IsZero() != after.DeletionTimestamp.IsZero()) {
				r.enqueueOthers(ctx, q, before, after)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.enqueueOthers(ctx, q, e.Object)
		},
	})
}

func equalLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// enqueueConcerned enqueues the Istios discovery.Concerned names for a namespace with one of the label sets.
func (r *Reconciler) enqueueConcerned(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], labelSets ...map[string]string) {
	list := &sailv1.IstioList{}
	if err := r.Client.List(ctx, list); err != nil {
		metrics.WatchLookupFailed(ctx, "istio", "Namespace", err)
		return
	}
	if len(list.Items) < 2 {
		return
	}
	for _, name := range discovery.Concerned(list.Items, labelSets...) {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: name}})
	}
}

// enqueueOthers enqueues every Istio but the changed one (its versions before and after the event), when it or
// another Istio sets discoverySelectors: only then can an overlap start or end.
func (r *Reconciler) enqueueOthers(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], changed ...client.Object) {
	list := &sailv1.IstioList{}
	if err := r.Client.List(ctx, list); err != nil {
		metrics.WatchLookupFailed(ctx, "istio", "Istio", err)
		return
	}
	isolated := anyIsolated(list.Items)
	for _, o := range changed {
		if istio, ok := o.(*sailv1.Istio); ok && discovery.ScopeOf(istio).Isolated {
			isolated = true
		}
	}
	if !isolated {
		return
	}
	for i := range list.Items {
		if list.Items[i].Name != changed[0].GetName() {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: list.Items[i].Name}})
		}
	}
}
