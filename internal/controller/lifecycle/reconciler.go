package lifecycle

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/readiness"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// Kind is what a Reconciler needs to know about one kind of resource (T, a pointer to the API type). Each
// controller implements it with what is particular to its kind; the Reconciler does the rest.
type Kind[T client.Object] interface {
	// NewObject returns an empty resource to read into.
	NewObject() T
	// StatusOf points at the resource's status.
	StatusOf(obj T) Status
	// Refuse returns why the resource is not reconciled at all, or nil. A refused resource gets no finalizer,
	// only the error (reason InvalidSpec) in its status.
	Refuse(obj T) error
	// Resolve checks the spec, looks up the other inputs of the resource's objects, sets the status fields that
	// report them, and returns what to render. A failure it records in s.Outcome ends the reconcile.
	Resolve(ctx context.Context, s *Scope[T]) (Plan, error)
	// SetStatus sets the resource's conditions and state from s.Outcome once the phases ran. An error leaves
	// the status unwritten.
	SetStatus(ctx context.Context, s *Scope[T]) error
	// Leftovers returns what Finalize deletes besides the inventory, in case the inventory lags: the objects
	// render returns, namespaced ones without a namespace put into namespace. Render may fail (an input is gone).
	Leftovers(ctx context.Context, obj T) (namespace string, render RenderFunc)
}

// Status points at the fields of a resource's status that a Reconciler reads and writes.
type Status struct {
	// All is the whole status (a pointer to it): compared with the status before the reconcile, and written
	// when it changed.
	All any
	// Conditions, ObservedGeneration and Inventory are fields of All.
	Conditions         *[]metav1.Condition
	ObservedGeneration *int64
	Inventory          *[]sailv1.InventoryEntry
	// Clear names the fields of All that are sent as null when empty (see status.Patch).
	Clear []string
}

// Plan is what Resolve found to render for a resource.
type Plan struct {
	// Applied names the objects in messages and events, e.g. "istio-cni v1.31.0".
	Applied string
	// Namespace receives the namespaced objects that name none.
	Namespace string
	// Key lists the inputs besides the resource's spec that the objects depend on (see Key).
	Key []string
	// Render renders the objects; it is called only when the key changed.
	Render RenderFunc
	// Alongside, when set, runs while the objects are applied (e.g. installing Istio's CRDs); its failure fails
	// the reconcile.
	Alongside func(context.Context) error
	// Ready is the Ready message once every applied workload is ready; empty for a kind without a Ready
	// condition, whose readiness is not checked.
	Ready string
	// Serving, when set, is asked once every applied workload is ready whether the objects are also served (e.g.
	// that a remote control plane serves a revision that runs no istiod of its own). Its verdict replaces the
	// workloads' (reason and message of Ready False when it is not served, the Ready message when it is), and
	// Requeue says when to ask again, since what it reads may change without an event the operator watches.
	Serving func(ctx context.Context, objs []*unstructured.Unstructured) (Verdict, error)
}

// Verdict is what a Plan's Serving check found.
type Verdict struct {
	// Served tells whether the objects are served; Reason (when not) and Message say why.
	Served          bool
	Reason, Message string
	// Requeue is when to check again (zero: only on the next event).
	Requeue time.Duration
}

// Scope is one reconcile of one resource: the resource, what the phases found so far, and the outcome.
type Scope[T client.Object] struct {
	// Obj is the resource as read, with the status the phases build.
	Obj T
	// Outcome is what the phases observed; a failure recorded in it ends the phases.
	Outcome Outcome
	// Plan is what Resolve returned.
	Plan Plan
	// Objects are the desired objects, once the desired phase ran.
	Objects []*unstructured.Unstructured

	before T
	status Status
	lc     *Lifecycle
}

// Failed tells whether a phase recorded a failure.
func (s *Scope[T]) Failed() bool { return s.Outcome.Err != nil }

// RequireNamespace tells whether the namespace can be installed into; when it cannot, the failure is recorded
// (a watch on namespaces brings the resource back once it can).
func (s *Scope[T]) RequireNamespace(ctx context.Context, name string) (bool, error) {
	reason, msg, err := CheckNamespace(ctx, s.lc.Client, name)
	if err != nil {
		s.Outcome.Fail(sailv1.ReasonReconcileError, err)
		return false, err
	}
	if reason != "" {
		s.Outcome.Fail(reason, errors.New(msg))
		return false, nil
	}
	return true, nil
}

// PruneAll deletes every object the resource's inventory lists, for a resource that must have none now; what
// describes them in events.
func (s *Scope[T]) PruneAll(ctx context.Context, what string) error {
	return s.lc.ApplyAndPrune(ctx, s.Obj, s.status.Inventory, nil, what)
}

// ReconciledAndReady sets Reconciled, Ready and the kstatus conditions from the outcome and returns the state.
func (s *Scope[T]) ReconciledAndReady() sailv1.LifecycleState {
	return s.Outcome.SetConditions(s.status.Conditions, s.Obj.GetGeneration())
}

// Phase is one step of a reconcile. A failure it records in s.Outcome, or an error, ends the reconcile.
type Phase[T client.Object] func(ctx context.Context, s *Scope[T]) (ctrl.Result, error)

// Reconciler reconciles the resources of one kind that render charts into objects they own: get the resource;
// finalize it when it is being deleted; ensure the finalizer; run the phases (resolve, desired objects, apply and
// prune, readiness); write the status. It is a reconcile.Reconciler.
type Reconciler[T client.Object] struct {
	kind   Kind[T]
	lc     *Lifecycle
	phases []Phase[T]
}

// NewReconciler returns a Reconciler of kind's resources working with lc.
func NewReconciler[T client.Object](kind Kind[T], lc *Lifecycle) *Reconciler[T] {
	r := &Reconciler[T]{kind: kind, lc: lc}
	r.phases = []Phase[T]{r.resolve, r.desire, r.apply, r.observeReadiness}
	return r
}

// Reconcile moves the resource req names towards its spec.
func (r *Reconciler[T]) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	obj := r.kind.NewObject()
	if err := r.lc.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			// Gone, also when its finalizer was removed by hand (Finalize never ran): drop what is cached for it.
			r.lc.Forget(req.Name)
			r.lc.ForgetInventory(req.NamespacedName)
			r.lc.statuses.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// The inventory is the one last written, not the one of a cache that may lag behind that write.
	r.lc.RestoreInventory(obj, r.kind.StatusOf(obj).Inventory)
	if !obj.GetDeletionTimestamp().IsZero() {
		namespace, render := r.kind.Leftovers(ctx, obj)
		return ctrl.Result{}, r.lc.Finalize(ctx, obj, r.kind.StatusOf(obj).Inventory, namespace, render)
	}
	if err := r.kind.Refuse(obj); err != nil {
		s := r.scope(obj)
		s.Outcome.Fail(sailv1.ReasonInvalidSpec, err)
		return ctrl.Result{}, r.writeStatus(ctx, s)
	}
	if err := r.lc.EnsureFinalizer(ctx, obj); err != nil {
		return ctrl.Result{}, err
	}
	log.FromContext(ctx).V(1).Info("reconciling")
	s := r.scope(obj)
	res, err := r.run(ctx, s)
	if err != nil && !s.Failed() {
		// The error says nothing about the resource (e.g. a cache read failed): keep its status and retry.
		return res, err
	}
	if statusErr := r.writeStatus(ctx, s); statusErr != nil {
		err = errors.Join(err, statusErr)
	}
	return res, err
}

func (r *Reconciler[T]) scope(obj T) *Scope[T] {
	return &Scope[T]{Obj: obj, before: obj.DeepCopyObject().(T), status: r.kind.StatusOf(obj), lc: r.lc}
}

// run runs the phases until one fails; the result that requeues soonest wins.
func (r *Reconciler[T]) run(ctx context.Context, s *Scope[T]) (ctrl.Result, error) {
	var res ctrl.Result
	for _, phase := range r.phases {
		next, err := phase(ctx, s)
		res = soonest(res, next)
		if err != nil || s.Failed() {
			return res, err
		}
	}
	return res, nil
}

// soonest returns the result with the lowest non-zero RequeueAfter.
func soonest(a, b ctrl.Result) ctrl.Result {
	if a.RequeueAfter == 0 || (b.RequeueAfter != 0 && b.RequeueAfter < a.RequeueAfter) {
		return b
	}
	return a
}

func (r *Reconciler[T]) resolve(ctx context.Context, s *Scope[T]) (ctrl.Result, error) {
	plan, err := r.kind.Resolve(ctx, s)
	s.Plan = plan
	s.Outcome.Applied = plan.Applied
	return ctrl.Result{}, err
}

// desire renders and prepares the objects, or takes them from the cache when the key did not change.
func (r *Reconciler[T]) desire(ctx context.Context, s *Scope[T]) (ctrl.Result, error) {
	objs, reason, err := r.lc.Desired(s.Obj, Key(s.Obj, s.Plan.Key...), s.Plan.Namespace, s.Plan.Render)
	if err != nil {
		s.Outcome.Fail(reason, err)
		if reason == sailv1.ReasonRenderError {
			return ctrl.Result{}, reconcile.TerminalError(err)
		}
		return ctrl.Result{}, err
	}
	log.FromContext(ctx).V(1).Info("desired objects ready", "count", len(objs))
	s.Objects = objs
	return ctrl.Result{}, nil
}

// apply applies the objects and prunes those no longer desired, with the plan's Alongside in parallel.
func (r *Reconciler[T]) apply(ctx context.Context, s *Scope[T]) (ctrl.Result, error) {
	var alongside chan error
	if s.Plan.Alongside != nil {
		alongside = make(chan error, 1)
		go func() { alongside <- s.Plan.Alongside(ctx) }()
	}
	err := r.lc.ApplyAndPrune(ctx, s.Obj, s.status.Inventory, s.Objects, s.Outcome.Applied)
	if err != nil {
		s.Outcome.Fail(sailv1.ReasonReconcileError, err)
	}
	if alongside != nil {
		if alongsideErr := <-alongside; alongsideErr != nil {
			s.Outcome.Fail(sailv1.ReasonReconcileError, alongsideErr)
			err = errors.Join(err, alongsideErr)
		}
	}
	return ctrl.Result{}, err
}

// observeReadiness records whether the applied workloads are ready.
func (r *Reconciler[T]) observeReadiness(ctx context.Context, s *Scope[T]) (ctrl.Result, error) {
	if s.Plan.Ready == "" {
		return ctrl.Result{}, nil
	}
	ready, msg, err := readiness.Check(ctx, r.lc.Client, r.lc.Scheme, s.Objects, r.lc.Applier.AppliedGeneration)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.Outcome.Ready, s.Outcome.ReadyMessage = ready, msg+"."
	if !ready {
		return ctrl.Result{}, nil
	}
	s.Outcome.ReadyMessage = s.Plan.Ready
	if s.Plan.Serving == nil {
		return ctrl.Result{}, nil
	}
	v, err := s.Plan.Serving(ctx, s.Objects)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.Outcome.Ready, s.Outcome.ReadyMessage = v.Served, v.Message
	if !v.Served {
		s.Outcome.NotReadyReason = v.Reason
	}
	return ctrl.Result{RequeueAfter: v.Requeue}, nil
}

// writeStatus sets the conditions, records events and writes the status when it changed.
func (r *Reconciler[T]) writeStatus(ctx context.Context, s *Scope[T]) error {
	if err := r.kind.SetStatus(ctx, s); err != nil {
		return err
	}
	*s.status.ObservedGeneration = s.Obj.GetGeneration()
	before := r.kind.StatusOf(s.before)
	r.lc.Events(s.Obj, *before.Conditions, *s.status.Conditions, &s.Outcome)
	if equality.Semantic.DeepEqual(before.All, s.status.All) {
		return nil
	}
	// The cache may not show the status written by the previous reconcile yet: the same status computed from the
	// same version of the resource was written already.
	encoded, from := encodeStatus(s.status.All), s.Obj.GetResourceVersion()
	if encoded != nil && r.lc.statuses.alreadyWritten(s.Obj, encoded) {
		return nil
	}
	if err := status.Patch(ctx, r.lc.Client, s.Obj, s.status.All, s.status.Clear...); err != nil {
		return err
	}
	if encoded != nil {
		r.lc.statuses.remember(s.Obj, from, s.Obj.GetResourceVersion(), encoded)
	}
	r.lc.RememberInventory(s.Obj, *s.status.Inventory)
	return nil
}
