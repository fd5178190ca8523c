package istiorevision

import (
	"context"
	"slices"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/mesh/revisiontags"
)

// setInUse sets the InUse condition from the cache's usage indexes; when usage cannot be read it is Unknown, which
// keeps the revision from being pruned.
func setInUse(ctx context.Context, reader client.Reader, rev *sailv1.IstioRevision, handedOver bool) {
	usage, err := usageOf(ctx, reader, rev, handedOver)
	revision.SetInUse(&rev.Status.Conditions, rev.Generation, usage, err, "revision", ".")
}

// usageOf counts what uses a revision: namespaces and pods that select its name, a tag that points at it
// (IstioRevisionTags) or a tag its values declare (spec.values.revisionTags, see revision.ValueTags); pods it
// injected, waypoints and gateways included; and the ZTunnel whose targetRef names it. A revision that handed its
// name over to a tag is not selected by that name any more: the namespaces that select it are the tag's.
func usageOf(ctx context.Context, reader client.Reader, rev *sailv1.IstioRevision, handedOver bool) (revision.Usage, error) {
	names := []string{rev.Name}
	if handedOver {
		names = nil
	}
	tags, err := revisiontags.TagsOf(ctx, reader, rev.Name)
	if err != nil {
		return revision.Usage{}, err
	}
	all := &sailv1.IstioRevisionList{}
	if err := reader.List(ctx, all); err != nil {
		return revision.Usage{}, err
	}
	usage, err := revision.Of(ctx, reader, slices.Concat(names, tags, revision.ValueTags(rev, all.Items))...)
	if err != nil {
		return revision.Usage{}, err
	}
	if handedOver {
		pods, err := revision.Pods(ctx, reader, rev.Name)
		if err != nil {
			return revision.Usage{}, err
		}
		usage.Pods += len(pods)
	}
	usage.ZTunnel, err = revision.ZTunnelTargets(ctx, reader, rev.Name)
	return usage, err
}

// declaringTag maps a name namespaces or pods select to the revisions whose values declare it as a tag.
func (r *Reconciler) declaringTag(ctx context.Context, name string) []string {
	list := &sailv1.IstioRevisionList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{revision.IndexValueTag: name}); err != nil {
		return nil
	}
	out := make([]string, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, list.Items[i].Name)
	}
	return out
}

// watchUsageSources adds the watches of the uses of a revision that are not namespaces or pods: a ZTunnel whose
// targetRef starts or stops naming a revision, and a revision whose values start or stop declaring a tag that
// others declare too (which of them holds the tag may change).
func watchUsageSources(b *builder.Builder, reader client.Reader) *builder.Builder {
	b = b.Watches(&sailv1.ZTunnel{}, lifecycle.EnqueueByName(func(o client.Object) string {
		if zt, ok := o.(*sailv1.ZTunnel); ok {
			return revision.ZTunnelTarget(zt)
		}
		return ""
	}))
	return b.Watches(&sailv1.IstioRevision{}, sharingTags(reader))
}

// sharingTags returns a handler that enqueues, for a revision that appears, goes or changes its declared tags,
// the other revisions that declare any of those tags.
func sharingTags(reader client.Reader) handler.EventHandler {
	enqueue := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], self string, tags ...string) {
		for _, tag := range tags {
			list := &sailv1.IstioRevisionList{}
			if err := reader.List(ctx, list, client.MatchingFields{revision.IndexValueTag: tag}); err != nil {
				continue
			}
			for i := range list.Items {
				if list.Items[i].Name != self {
					q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: list.Items[i].Name}})
				}
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object.GetName(), revision.IndexValueTags(e.Object)...)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			before, after := revision.IndexValueTags(e.ObjectOld), revision.IndexValueTags(e.ObjectNew)
			if !slices.Equal(before, after) {
				enqueue(ctx, q, e.ObjectNew.GetName(), slices.Concat(before, after)...)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object.GetName(), revision.IndexValueTags(e.Object)...)
		},
	}
}
