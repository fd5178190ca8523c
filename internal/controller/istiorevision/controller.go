// Package istiorevision reconciles IstioRevisions: it renders the revision's istiod chart (and, for the revision
// named default, the cluster-wide objects of the base chart), applies the result with server-side apply, prunes
// what is no longer rendered, removes everything on deletion and reports readiness.
package istiorevision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/mesh/dependencies"
	"github.com/sail-mesh/sail/internal/mesh/istiocrds"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/mesh/revisiontags"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/status"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Finalizer keeps an IstioRevision until the objects applied for it are deleted.
const Finalizer = "sailoperator.io/istiorevision-cleanup"

// IndexNamespace indexes IstioRevisions by spec.namespace.
const IndexNamespace = "spec.namespace"

// Reconciler reconciles IstioRevisions. It is the lifecycle.Kind of IstioRevisions: the lifecycle.Reconciler runs
// the reconcile, this type says what is particular to an IstioRevision.
type Reconciler struct {
	lifecycle.Deps
	// CRDs installs Istio's CRDs; nil when the operator does not manage them.
	CRDs *istiocrds.Installer

	// base runs the reconcile; SetupWithManager sets it.
	base *lifecycle.Reconciler[*sailv1.IstioRevision]
}

type scope = lifecycle.Scope[*sailv1.IstioRevision]

// Reconcile moves one IstioRevision towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	return r.base.Reconcile(ctx, req)
}

// NewObject returns an empty IstioRevision.
func (r *Reconciler) NewObject() *sailv1.IstioRevision { return &sailv1.IstioRevision{} }

// StatusOf points at the IstioRevision's status.
func (r *Reconciler) StatusOf(rev *sailv1.IstioRevision) lifecycle.Status {
	st := &rev.Status
	return lifecycle.Status{All: st, Conditions: &st.Conditions, ObservedGeneration: &st.ObservedGeneration,
		Inventory: &st.Inventory, Clear: []string{"inventory"}}
}

// Refuse refuses no IstioRevision.
func (r *Reconciler) Refuse(*sailv1.IstioRevision) error { return nil }

// Resolve checks the namespace and that no older IstioRevisionTag has the revision's name. A revision that has
// handed its name over to the tag of the same name (revisiontags.HandedOver) renders no injection webhook: the
// tag's webhook selects its namespaces and pods now.
func (r *Reconciler) Resolve(ctx context.Context, s *scope) (lifecycle.Plan, error) {
	rev := s.Obj
	if ok, err := s.RequireNamespace(ctx, rev.Spec.Namespace); !ok {
		return lifecycle.Plan{}, err
	}
	tag, err := r.sameNamedTag(ctx, rev)
	if err != nil {
		s.Outcome.Fail(sailv1.ReasonReconcileError, err)
		return lifecycle.Plan{}, err
	}
	if tag != nil && !revisiontags.TagTakesOver(rev, tag) && !revisiontags.RevisionWins(rev, tag) {
		s.Outcome.Fail(sailv1.ReasonNameAlreadyExists, fmt.Errorf("IstioRevisionTag %s is older and has the same "+
			"name, so it wins; rename or delete one of them", rev.Name))
		return lifecycle.Plan{}, nil // the tag's deletion brings us back
	}
	lost, err := r.lostValueTags(ctx, rev)
	if err != nil {
		s.Outcome.Fail(sailv1.ReasonReconcileError, err)
		return lifecycle.Plan{}, err
	}
	handedOver := tag != nil && revisiontags.HandedOver(rev, tag)
	key := []string{"tags lost to older claims: " + strings.Join(lostNames(lost), ",")}
	if handedOver {
		key = append(key, "handed over to IstioRevisionTag "+tag.Name)
	}
	render := func() ([]*unstructured.Unstructured, error) {
		objs, err := r.Render(rev)
		if handedOver {
			objs = withoutInjector(objs)
		}
		return withoutTags(objs, lostNames(lost)), err
	}
	plan := lifecycle.Plan{
		Applied:   "Istio " + rev.Spec.Version,
		Namespace: rev.Spec.Namespace,
		Key:       key,
		Render:    render,
		// Istio's CRDs are not needed by the charts' objects: install them alongside, off the critical path (not
		// at all for an external istiod, whose config cluster has them).
		Alongside: func(ctx context.Context) error {
			if values.IsExternalIstiod(rev.Spec.Values) {
				return nil
			}
			return r.ensureCRDs(ctx, rev.Spec.Version)
		},
		Ready: "istiod is ready.",
	}
	if isRemote(rev) {
		// No istiod runs here: Ready says whether the primary's does serve this cluster.
		plan.Serving = r.remoteServing(rev)
	}
	return plan, nil
}

// sameNamedTag returns the IstioRevisionTag that has the revision's name, nil when there is none.
func (r *Reconciler) sameNamedTag(ctx context.Context, rev *sailv1.IstioRevision) (*sailv1.IstioRevisionTag, error) {
	tag := &sailv1.IstioRevisionTag{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: rev.Name}, tag); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return tag, nil
}

// withoutInjector drops the istiod chart's sidecar injection webhook from a revision's objects.
func withoutInjector(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := objs[:0:0]
	for _, u := range objs {
		if u.GetKind() != "MutatingWebhookConfiguration" {
			out = append(out, u)
		}
	}
	return out
}

// SetStatus sets DependenciesHealthy, InUse and IstioCRDs, then Reconciled, Ready and the state.
func (r *Reconciler) SetStatus(ctx context.Context, s *scope) error {
	rev := s.Obj
	depStatus, depReason, depMessage, err := dependencies.Check(ctx, r.Client, rev)
	if err != nil {
		return err
	}
	status.Set(&rev.Status.Conditions, rev.Generation, sailv1.ConditionDependenciesHealthy, depStatus, depReason, depMessage)
	tag, err := r.sameNamedTag(ctx, rev)
	if err != nil {
		return err
	}
	setInUse(ctx, r.Client, rev, tag != nil && revisiontags.HandedOver(rev, tag))
	lost, err := r.lostValueTags(ctx, rev)
	if err != nil {
		return err
	}
	setValueTagsCondition(rev, lost)
	external := values.IsExternalIstiod(rev.Spec.Values)
	if !external {
		r.setCRDsCondition(rev)
	}
	rev.Status.State = s.ReconciledAndReady()
	if external {
		setExternalConditions(rev)
	}
	setReadyVersion(rev)
	return nil
}

// setReadyVersion records the version istiod has rolled out once the revision is Ready for its latest spec.
func setReadyVersion(rev *sailv1.IstioRevision) {
	ready := meta.FindStatusCondition(rev.Status.Conditions, sailv1.ConditionReady)
	if ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == rev.Generation {
		rev.Status.ReadyVersion = rev.Spec.Version
	}
}

// Leftovers renders the revision's objects for its deletion.
func (r *Reconciler) Leftovers(_ context.Context, rev *sailv1.IstioRevision) (string, lifecycle.RenderFunc) {
	return rev.Spec.Namespace, func() ([]*unstructured.Unstructured, error) { return r.Render(rev) }
}

func (r *Reconciler) ensureCRDs(ctx context.Context, version string) error {
	if r.CRDs == nil {
		return nil
	}
	_, err := r.CRDs.Ensure(ctx, version)
	return err
}

// setCRDsCondition sets IstioCRDs from the last installation of the revision's version's CRDs (nothing until
// there was one; the condition is removed when the operator does not manage Istio's CRDs), and records an event
// when CRDs are newly kept at a newer version.
func (r *Reconciler) setCRDsCondition(rev *sailv1.IstioRevision) {
	if r.CRDs == nil {
		meta.RemoveStatusCondition(&rev.Status.Conditions, sailv1.ConditionIstioCRDs)
		return
	}
	res, ok := r.CRDs.Last(rev.Spec.Version)
	if !ok {
		return
	}
	reason := sailv1.ReasonCRDsInstalled
	if len(res.Kept) > 0 {
		reason = sailv1.ReasonCRDsKeptNewer
	}
	before := meta.FindStatusCondition(rev.Status.Conditions, sailv1.ConditionIstioCRDs)
	msg := res.Message()
	if reason == sailv1.ReasonCRDsKeptNewer && r.Recorder != nil && (before == nil || before.Message != msg) {
		r.Recorder.Eventf(rev, nil, corev1.EventTypeNormal, reason, "InstallCRDs", "%s", msg)
	}
	status.Set(&rev.Status.Conditions, rev.Generation, sailv1.ConditionIstioCRDs, metav1.ConditionTrue, reason, msg)
}

// Render returns the revision's objects: the istiod chart, plus the base chart's cluster-wide objects (without
// CRDs) for the revision named default unless it is an external istiod (see requireConfigClusterSecret). The two
// charts render in parallel. Webhooks that call an ExternalName Service (a remote revision's DNS
// remotePilotAddress) call its target port (withExternalNameTargetPorts).
func (r *Reconciler) Render(rev *sailv1.IstioRevision) ([]*unstructured.Unstructured, error) {
	if err := checkRemotePilotAddress(rev.Spec.Values); err != nil {
		return nil, err
	}
	vals, err := values.ToMap(rev.Spec.Values)
	if err != nil {
		return nil, err
	}
	var base []*unstructured.Unstructured
	var baseErr error
	var wg sync.WaitGroup
	external := values.IsExternalIstiod(rev.Spec.Values)
	if rev.Name == sailv1.DefaultRevision && !external {
		baseVals := values.ForBaseChart(vals)
		wg.Go(func() {
			base, baseErr = r.Renderer.Render(render.Input{Version: rev.Spec.Version, Chart: versions.ChartBase,
				Release: "base", Namespace: rev.Spec.Namespace, Values: baseVals})
		})
	}
	objs, err := r.Renderer.Render(render.Input{Version: rev.Spec.Version, Chart: versions.ChartIstiod,
		Release: rev.Name, Namespace: rev.Spec.Namespace, Values: values.ForIstiodChart(vals)})
	wg.Wait()
	if err = errors.Join(err, baseErr); err != nil {
		return nil, err
	}
	if external {
		requireConfigClusterSecret(objs)
	}
	for _, u := range base {
		// Istio's CRDs are installed by the CRD installer, which never downgrades or deletes them.
		if u.GetKind() != "CustomResourceDefinition" {
			objs = append(objs, u)
		}
	}
	withExternalNameTargetPorts(objs)
	return objs, nil
}

// SetupWithManager registers the controller, its watches on owned objects and the namespace index.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	r.base = lifecycle.NewReconciler[*sailv1.IstioRevision](r, &lifecycle.Lifecycle{Client: r.Client, Scheme: r.Scheme,
		Applier: r.Applier, Recorder: r.Recorder, Finalizer: Finalizer})
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &sailv1.IstioRevision{}, IndexNamespace,
		func(o client.Object) []string { return []string{o.(*sailv1.IstioRevision).Spec.Namespace} }); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &sailv1.IstioRevision{}, revision.IndexValueTag,
		revision.IndexValueTags); err != nil {
		return err
	}
	b := lifecycle.NewBuilder(mgr, r.Applier, &sailv1.IstioRevision{}, "istiorevision", concurrency, OwnedTypes(r.Scheme, r.Versions)...).
		WatchesMetadata(lifecycle.NamespaceMetadata(), handler.EnqueueRequestsFromMapFunc(r.revisionsInNamespace))
	// Usage: a namespace or pod that starts or stops selecting a revision re-evaluates that revision's InUse
	// condition (the revision's charts are neither rendered nor applied again: its spec did not change).
	b = lifecycle.WatchUsage(b, r.declaringTag)
	b = watchUsageSources(b, r.Client)
	// Dependencies: an IstioCNI or ZTunnel that appears, goes or changes readiness re-evaluates every revision's
	// DependenciesHealthy condition (status only: the revisions' specs did not change, so nothing is rendered).
	b = dependencies.Watch(b, r.Client)
	// Tags: a tag that starts or stops pointing at a revision, or whose usage changes, re-evaluates its InUse.
	b = b.Watches(&sailv1.IstioRevisionTag{}, revisiontags.RevisionHandler())
	b = b.Watches(&sailv1.IstioRevisionTag{}, handler.EnqueueRequestsFromMapFunc(
		func(_ context.Context, o client.Object) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: o.GetName()}}} // a same-named revision
		}))
	// Collisions: a tag that appears or goes may take over, or give back, a tag of a revision's values.
	b = b.Watches(&sailv1.IstioRevisionTag{}, handler.EnqueueRequestsFromMapFunc(r.revisionsDeclaring))
	return b.Complete(r)
}

func (r *Reconciler) revisionsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	list := &sailv1.IstioRevisionList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{IndexNamespace: o.GetName()}); err != nil {
		metrics.WatchLookupFailed(ctx, "istiorevision", "Namespace", err)
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, rev := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&rev)})
	}
	return out
}

// OwnedTypes lists the kinds the istiod and base charts of the supported versions render (Istio's CRDs aside,
// which the CRD installer handles), so that a change or deletion of one brings the owning revision back to
// repair it.
func OwnedTypes(scheme *runtime.Scheme, list *versions.List) []client.Object {
	owned, _ := lifecycle.OwnedTypes(scheme, list, []string{versions.ChartIstiod, versions.ChartBase}, "CustomResourceDefinition")
	return owned
}
