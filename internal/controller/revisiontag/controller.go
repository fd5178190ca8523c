// Package revisiontag reconciles IstioRevisionTags: it resolves the tag's target to an IstioRevision, renders
// that revision's istiod chart with the tag in values.revisionTags and keeps only the tag's injection webhook and
// Service (plus, for the tag named default, the base chart's default validating webhook pointed at the
// revision), applies them with server-side apply, prunes what is no longer rendered, removes everything on
// deletion, and reports whether namespaces or pods use the tag.
package revisiontag

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/mesh/revisiontags"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/status"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Permissions of this controller (the webhooks and Services it applies are covered by internal/operator/rbac.go).
//
// +kubebuilder:rbac:groups=sailoperator.io,resources=istiorevisiontags,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=sailoperator.io,resources=istiorevisiontags/status,verbs=patch
// +kubebuilder:rbac:groups=sailoperator.io,resources=istiorevisiontags/finalizers,verbs=update

// Finalizer keeps an IstioRevisionTag until the objects applied for it are deleted.
const Finalizer = "sailoperator.io/istiorevisiontag-cleanup"

// LabelTag is the label Istio's revision-tags templates put on a tag's webhook and Service.
const LabelTag = "istio.io/tag"

// DefaultValidatorName is the base chart's default validating webhook, made by the tag named default.
const DefaultValidatorName = "istiod-default-validator"

// Reconciler reconciles IstioRevisionTags. It is the lifecycle.Kind of IstioRevisionTags: the
// lifecycle.Reconciler runs the reconcile, this type says what is particular to a tag.
type Reconciler struct {
	lifecycle.Deps

	// base runs the reconcile; SetupWithManager sets it.
	base *lifecycle.Reconciler[*sailv1.IstioRevisionTag]
}

type scope = lifecycle.Scope[*sailv1.IstioRevisionTag]

// Reconcile moves one IstioRevisionTag towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	return r.base.Reconcile(ctx, req)
}

// NewObject returns an empty IstioRevisionTag.
func (r *Reconciler) NewObject() *sailv1.IstioRevisionTag { return &sailv1.IstioRevisionTag{} }

// StatusOf points at the tag's status.
func (r *Reconciler) StatusOf(tag *sailv1.IstioRevisionTag) lifecycle.Status {
	st := &tag.Status
	return lifecycle.Status{All: st, Conditions: &st.Conditions, ObservedGeneration: &st.ObservedGeneration,
		Inventory: &st.Inventory, Clear: []string{"inventory", "istioRevision", "istiodNamespace"}}
}

// Refuse refuses no tag.
func (r *Reconciler) Refuse(*sailv1.IstioRevisionTag) error { return nil }

// Resolve resolves the tag's target revision and checks that no older IstioRevision has the tag's name. Without
// a usable target nothing may keep injecting for the tag: what was applied is removed. A watch brings the tag
// back when the target appears or the conflicting revision goes.
func (r *Reconciler) Resolve(ctx context.Context, s *scope) (lifecycle.Plan, error) {
	tag := s.Obj
	rev, reason, msg, err := r.target(ctx, tag)
	if err != nil {
		s.Outcome.Fail(sailv1.ReasonReconcileError, err)
		return lifecycle.Plan{}, err
	}
	var shared bool
	if rev != nil {
		if shared, reason, msg, err = r.conflict(ctx, tag, rev); err != nil {
			s.Outcome.Fail(sailv1.ReasonReconcileError, err)
			return lifecycle.Plan{}, err
		}
	}
	if rev != nil && msg == "" {
		if reason, msg, err = r.valueCollision(ctx, tag); err != nil {
			s.Outcome.Fail(sailv1.ReasonReconcileError, err)
			return lifecycle.Plan{}, err
		}
	}
	if msg != "" {
		s.Outcome.Fail(reason, errors.New(msg))
		tag.Status.IstioRevision, tag.Status.IstiodNamespace = "", ""
		return lifecycle.Plan{}, s.PruneAll(ctx, "revision tag "+tag.Name)
	}
	tag.Status.IstioRevision, tag.Status.IstiodNamespace = rev.Name, rev.Spec.Namespace
	return lifecycle.Plan{
		Applied:   fmt.Sprintf("Revision tag %s of IstioRevision %s", tag.Name, rev.Name),
		Namespace: rev.Spec.Namespace,
		Key:       []string{rev.Name, string(rev.UID), strconv.FormatInt(rev.Generation, 10), strconv.FormatBool(shared)},
		Render:    func() ([]*unstructured.Unstructured, error) { return r.renderFor(tag, rev, !shared) },
	}, nil
}

// SetStatus sets Reconciled (a tag has no Ready: it has no workloads of its own), the kstatus conditions derived
// from it (Stalled while an error no retry fixes blocks it, Reconciling while it waits), InUse and the state.
func (r *Reconciler) SetStatus(ctx context.Context, s *scope) error {
	tag, out, gen := s.Obj, &s.Outcome, s.Obj.Generation
	if out.Err != nil {
		status.Set(&tag.Status.Conditions, gen, sailv1.ConditionReconciled, metav1.ConditionFalse, out.Reason, lifecycle.Message(out.Err))
	} else {
		status.Set(&tag.Status.Conditions, gen, sailv1.ConditionReconciled, metav1.ConditionTrue, sailv1.ReasonReconcileSucceeded,
			out.Applied+" is applied.")
	}
	status.SetKstatus(&tag.Status.Conditions, gen)
	usage, err := revision.Of(ctx, r.Client, tag.Name)
	revision.SetInUse(&tag.Status.Conditions, gen, usage, err, "tag", " (through this tag).")
	tag.Status.State = State(tag.Status.Conditions)
	return nil
}

// Leftovers renders the tag's objects for its deletion, when its target is still there.
func (r *Reconciler) Leftovers(ctx context.Context, tag *sailv1.IstioRevisionTag) (string, lifecycle.RenderFunc) {
	return tag.Status.IstiodNamespace, func() ([]*unstructured.Unstructured, error) {
		rev, _, _, err := r.target(ctx, tag)
		if err != nil || rev == nil {
			return nil, errors.Join(err, errors.New("target not found"))
		}
		shared, _, _, err := r.conflict(ctx, tag, rev)
		if err != nil {
			return nil, err
		}
		return r.renderFor(tag, rev, !shared)
	}
}

// target returns the IstioRevision the tag points at, or nil with a reason and a message saying what is missing:
// RefNotFound (the tag is Stalled until the target is created) when the Istio or IstioRevision it names does not
// exist, WaitingForRevision when the Istio it names has no active revision yet (the Istio is making one).
func (r *Reconciler) target(ctx context.Context, tag *sailv1.IstioRevisionTag) (*sailv1.IstioRevision, string, string, error) {
	ref := tag.Spec.TargetRef
	revName := ref.Name
	switch ref.Kind {
	case sailv1.IstioKind:
		istio := &sailv1.Istio{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: ref.Name}, istio); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, sailv1.ReasonRefNotFound, fmt.Sprintf("Istio %q does not exist; create it, or point "+
					"spec.targetRef at an existing Istio or IstioRevision. The tag is applied once it exists.", ref.Name), nil
			}
			return nil, "", "", err
		}
		name, err := r.followedRevision(ctx, tag, istio)
		if err != nil || name == "" {
			return nil, sailv1.ReasonWaitingForRevision, fmt.Sprintf("Istio %q has no active revision yet.", ref.Name), err
		}
		revName = name
	case sailv1.IstioRevisionKind:
	default:
		return nil, sailv1.ReasonRefNotFound, fmt.Sprintf("Unknown target kind %q; use Istio or IstioRevision.", ref.Kind), nil
	}
	return r.targetRevision(ctx, revName, ref.Kind == sailv1.IstioKind)
}

// followedRevision returns the revision a tag that targets an Istio points at: the Istio's active revision, or
// the tag's current one while keepCurrent says so; "" while the Istio has no active revision.
func (r *Reconciler) followedRevision(ctx context.Context, tag *sailv1.IstioRevisionTag, istio *sailv1.Istio) (string, error) {
	revName := istio.Status.ActiveRevisionName
	if revName == "" {
		return "", nil
	}
	if current := tag.Status.IstioRevision; current != "" && current != revName {
		keep, err := r.keepCurrent(ctx, revName, current)
		if err != nil {
			return "", err
		}
		if keep {
			revName = current
		}
	}
	return revName, nil
}

// targetRevision reads the revision a tag points at; one that is missing or being deleted is waited for when it
// is an Istio's (viaIstio: the Istio replaces it) and is RefNotFound when the tag names it.
func (r *Reconciler) targetRevision(ctx context.Context, name string, viaIstio bool) (*sailv1.IstioRevision, string, string, error) {
	reason := sailv1.ReasonRefNotFound
	if viaIstio {
		reason = sailv1.ReasonWaitingForRevision
	}
	rev := &sailv1.IstioRevision{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, rev); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, reason, fmt.Sprintf("IstioRevision %q does not exist; create it, or point spec.targetRef at an "+
				"existing Istio or IstioRevision. The tag is applied once it exists.", name), nil
		}
		return nil, "", "", err
	}
	if !rev.DeletionTimestamp.IsZero() {
		return nil, reason, fmt.Sprintf("IstioRevision %q is being deleted; point spec.targetRef at another Istio or IstioRevision.", name), nil
	}
	return rev, "", "", nil
}

// keepCurrent tells whether a tag that follows an Istio should stay on its current revision while the Istio's
// new active revision is not Ready yet, so that workloads are never sent to a control plane that cannot serve
// them. It moves once the new revision is Ready, or at once if the current revision is gone.
func (r *Reconciler) keepCurrent(ctx context.Context, next, current string) (bool, error) {
	nextRev := &sailv1.IstioRevision{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: next}, nextRev); err != nil {
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
	if meta.IsStatusConditionTrue(nextRev.Status.Conditions, sailv1.ConditionReady) {
		return false, nil
	}
	currentRev := &sailv1.IstioRevision{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: current}, currentRev); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return currentRev.DeletionTimestamp.IsZero(), nil
}

// conflict looks at the IstioRevision with the tag's name, if any. It returns a reason and message when that
// revision keeps the name (it is older), or when the tag is to take the name over (revisiontags.TagTakesOver) but
// does not serve yet and its target revision is not Ready: the revision goes on injecting until the tag's target
// can. shared tells that the tag took the name over while the revision still exists; the revision keeps its
// default validating webhook until it is gone.
func (r *Reconciler) conflict(ctx context.Context, tag *sailv1.IstioRevisionTag, target *sailv1.IstioRevision) (shared bool, reason, msg string, err error) {
	rev := &sailv1.IstioRevision{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: tag.Name}, rev); err != nil {
		return false, "", "", client.IgnoreNotFound(err)
	}
	switch {
	case revisiontags.TagTakesOver(rev, tag):
		waiting := target.Name == rev.Name || !meta.IsStatusConditionTrue(target.Status.Conditions, sailv1.ConditionReady)
		if tag.Status.IstioRevision == "" && waiting {
			return false, sailv1.ReasonWaitingForRevision, fmt.Sprintf("IstioRevision %s, which the same Istio "+
				"installed with the InPlace strategy, serves the name %q until the Istio's new revision is Ready; "+
				"the tag takes the name over then.", rev.Name, tag.Name), nil
		}
		return true, "", "", nil
	case revisiontags.RevisionWins(rev, tag):
		return false, sailv1.ReasonNameAlreadyExists, fmt.Sprintf("An older IstioRevision is named %q; rename the tag "+
			"or delete that revision (a tag and a revision cannot share a name).", tag.Name), nil
	}
	return false, "", "", nil
}

// valueCollision returns InjectionCollision and a message when an IstioRevision's spec.values.revisionTags holds
// the tag's name (revisiontags.ValueHolder) and that claim is older (revisiontags.ValueClaimWins): both would
// install the webhook istio-revision-tag-<name>, so the tag installs nothing until the claim goes.
func (r *Reconciler) valueCollision(ctx context.Context, tag *sailv1.IstioRevisionTag) (reason, msg string, err error) {
	list := &sailv1.IstioRevisionList{}
	if err := r.Client.List(ctx, list); err != nil {
		return "", "", err
	}
	holder, err := revisiontags.ValueHolder(ctx, r.Client, tag.Name, list.Items)
	if err != nil || holder == nil || !revisiontags.ValueClaimWins(holder.Claimant, tag) {
		return "", "", err
	}
	return sailv1.ReasonInjectionCollision, revisiontags.CollisionMessage(tag.Name, holder.Claimant, false), nil
}

// Render returns the tag's objects for a revision: the tag's injection webhook and Service from the revision's
// istiod chart rendered with values.revisionTags=[tag], plus for the tag named default the base chart's default
// validating webhook pointed at the revision.
func (r *Reconciler) Render(tag *sailv1.IstioRevisionTag, rev *sailv1.IstioRevision) ([]*unstructured.Unstructured, error) {
	return r.renderFor(tag, rev, true)
}

// renderFor is Render, with the default validating webhook only when validator is true.
func (r *Reconciler) renderFor(tag *sailv1.IstioRevisionTag, rev *sailv1.IstioRevision, validator bool) ([]*unstructured.Unstructured, error) {
	vals, err := values.ToMap(rev.Spec.Values)
	if err != nil {
		return nil, err
	}
	istiodVals := values.ForTagIstiodChart(vals, tag.Name)
	objs, err := r.Renderer.Render(render.Input{Version: rev.Spec.Version, Chart: versions.ChartIstiod,
		Release: rev.Name, Namespace: rev.Spec.Namespace, Values: istiodVals})
	if err != nil {
		return nil, err
	}
	out := SelectTagObjects(objs, tag.Name)
	if tag.Name == sailv1.DefaultRevision && validator {
		baseVals := values.ForDefaultTagBaseChart(vals, rev.Name, rev.Spec.Namespace)
		base, err := r.Renderer.Render(render.Input{Version: rev.Spec.Version, Chart: versions.ChartBase,
			Release: "base", Namespace: rev.Spec.Namespace, Values: baseVals})
		if err != nil {
			return nil, err
		}
		out = append(out, SelectDefaultValidator(base)...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the istiod chart of %s rendered no objects for revision tag %s", rev.Spec.Version, tag.Name)
	}
	return out, nil
}

// SelectTagObjects keeps, of the objects of an istiod chart rendered with values.revisionTags, the tag's
// MutatingWebhookConfiguration and Service (those Istio's revision-tags templates label istio.io/tag=<tag>).
func SelectTagObjects(objs []*unstructured.Unstructured, tag string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetLabels()[LabelTag] != tag {
			continue
		}
		if k := u.GetKind(); k == "MutatingWebhookConfiguration" || k == "Service" {
			out = append(out, u)
		}
	}
	return out
}

// SelectDefaultValidator keeps, of the objects of the base chart, the default validating webhook.
func SelectDefaultValidator(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "ValidatingWebhookConfiguration" && u.GetName() == DefaultValidatorName {
			out = append(out, u)
		}
	}
	return out
}

// State summarises a tag's conditions in one word: Pending before the first reconcile, Healthy when reconciled,
// ReconcileError otherwise (status.State for a kind without a Ready condition).
func State(conds []metav1.Condition) sailv1.LifecycleState {
	return status.State(conds)
}

// SetupWithManager registers the controller and its watches: the tags, the objects they own, the Istios and
// IstioRevisions they target (or whose name they share), and the namespaces and pods that select them.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.base = lifecycle.NewReconciler[*sailv1.IstioRevisionTag](r, &lifecycle.Lifecycle{Client: r.Client,
		Applier: r.Applier, Recorder: r.Recorder, Finalizer: Finalizer})
	b := lifecycle.NewBuilder(mgr, r.Applier, &sailv1.IstioRevisionTag{}, "istiorevisiontag", 1,
		&admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfiguration{},
		&corev1.Service{}).
		Watches(&sailv1.Istio{}, handler.EnqueueRequestsFromMapFunc(r.tagsFor)).
		Watches(&sailv1.IstioRevision{}, handler.EnqueueRequestsFromMapFunc(r.tagsFor))
	return lifecycle.WatchUsage(b).Complete(r)
}

// tagsFor maps an Istio or IstioRevision to the tags it concerns: those that target it, those that point at it
// (a revision's spec changed), and the tag that shares a revision's name.
func (r *Reconciler) tagsFor(ctx context.Context, o client.Object) []reconcile.Request {
	list := &sailv1.IstioRevisionTagList{}
	if err := r.Client.List(ctx, list); err != nil {
		metrics.WatchLookupFailed(ctx, "istiorevisiontag", "Istio or IstioRevision", err)
		return nil
	}
	return Affected(list.Items, o)
}

// Affected returns the tags of tags that an event on o (an Istio or an IstioRevision) concerns; for a revision
// also those whose name its spec.values.revisionTags declares (an injection collision may start or end).
func Affected(tags []sailv1.IstioRevisionTag, o client.Object) []reconcile.Request {
	kind := sailv1.IstioKind
	if _, ok := o.(*sailv1.IstioRevision); ok {
		kind = sailv1.IstioRevisionKind
	}
	var out []reconcile.Request
	for i := range tags {
		t := &tags[i]
		targets := t.Spec.TargetRef.Kind == kind && t.Spec.TargetRef.Name == o.GetName()
		related := kind == sailv1.IstioRevisionKind && (t.Status.IstioRevision == o.GetName() || t.Name == o.GetName() ||
			slices.Contains(revision.IndexValueTags(o), t.Name))
		if targets || related {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Name: t.Name}})
		}
	}
	return out
}
