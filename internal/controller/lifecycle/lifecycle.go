// Package lifecycle is the reconcile skeleton of Sail's controllers for resources that render Istio's charts into
// objects they own, and the steps it is made of. Reconciler runs get -> finalize on deletion -> ensure the
// finalizer -> phases (resolve, desired objects, apply and prune, readiness) -> status, over a Kind that each
// controller implements with what is particular to its kind. The steps: the cleanup finalizer, desired objects
// cached per spec, server-side apply with an inventory recorded in the resource's status before anything is
// created, pruning of objects no longer rendered, deletion of everything on finalization, the namespace check,
// the Reconciled/Ready conditions and events, and the watch helpers the controllers share.
//
// The apply, render, readiness and status packages do the work; this package only sequences them.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// RenderFunc renders a resource's objects (not yet prepared).
type RenderFunc func() ([]*unstructured.Unstructured, error)

// Lifecycle applies, prunes and deletes the objects of resources of one kind. It is safe for concurrent use.
type Lifecycle struct {
	// Client reads the resources and their inputs and writes their finalizers and status.
	Client client.Client
	// Scheme decodes the applied workloads read to tell their readiness.
	Scheme *runtime.Scheme
	// Applier applies and deletes objects.
	Applier *apply.Applier
	// Recorder records events on the resources; nil records none.
	Recorder events.EventRecorder
	// Finalizer keeps a resource until its objects are deleted.
	Finalizer string

	// prepared caches desired objects by resource name.
	prepared sync.Map
	// finalized remembers when the objects of a resource (by UID) were deleted, so that a reconcile that still
	// sees the resource from a cache lagging behind the finalizer's removal does not delete them again.
	finalized sync.Map
	// written remembers the inventory last written for each resource (by name, a writtenInventory), so that a
	// reconcile that reads the resource from a cache lagging behind that write still prunes from it.
	written sync.Map
	// statuses remembers the status last written for each resource and the resourceVersions that the writes of
	// this lifecycle (status, finalizer, inventory) went from and to, so that a reconcile reading the resource from
	// a cache lagging behind them does not write the same status again.
	statuses writtenStatuses
}

// writtenInventory is the inventory last written to the status of the resource with UID uid.
type writtenInventory struct {
	uid     types.UID
	entries []sailv1.InventoryEntry
}

// RestoreInventory replaces *inv, read with obj (maybe from a lagging cache), with the inventory this process
// last wrote for obj, if any: the operator is the only writer of status.inventory, so what it wrote last is
// what the API server has. A reconcile after a restart finds none and keeps what it read.
func (l *Lifecycle) RestoreInventory(obj client.Object, inv *[]sailv1.InventoryEntry) {
	if w, ok := l.written.Load(inventoryKey(obj)); ok && w.(writtenInventory).uid == obj.GetUID() {
		*inv = slices.Clone(w.(writtenInventory).entries)
	}
}

// RememberInventory records that entries is now obj's inventory in the API server.
func (l *Lifecycle) RememberInventory(obj client.Object, entries []sailv1.InventoryEntry) {
	l.written.Store(inventoryKey(obj), writtenInventory{uid: obj.GetUID(), entries: slices.Clone(entries)})
}

// ForgetInventory drops what RememberInventory recorded for the resource of key (it is gone).
func (l *Lifecycle) ForgetInventory(key client.ObjectKey) {
	l.written.Delete(key.String())
}

func inventoryKey(obj client.Object) string {
	return client.ObjectKeyFromObject(obj).String()
}

// patchInventory is status.PatchInventory, remembering what it wrote.
func (l *Lifecycle) patchInventory(ctx context.Context, obj client.Object, inv *[]sailv1.InventoryEntry, entries []sailv1.InventoryEntry) error {
	to, err := status.PatchInventory(ctx, l.Client, obj, inv, entries)
	if err != nil {
		return err
	}
	l.statuses.own(obj, obj.GetResourceVersion(), to)
	l.RememberInventory(obj, entries)
	return nil
}

// finalizedMemory is how long a finalized UID is remembered.
const finalizedMemory = 10 * time.Minute

// prepared are a resource's rendered and prepared objects for one cache key. They are shared between reconciles
// and must not be modified.
type prepared struct {
	key     string
	objects []*unstructured.Unstructured
}

// EnsureFinalizer adds the cleanup finalizer to obj when it lacks it.
func (l *Lifecycle) EnsureFinalizer(ctx context.Context, obj client.Object) error {
	if controllerutil.ContainsFinalizer(obj, l.Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(obj, l.Finalizer)
	from := obj.GetResourceVersion()
	if err := l.Client.Patch(ctx, obj, patch); err != nil {
		return err
	}
	l.statuses.own(obj, from, obj.GetResourceVersion())
	return nil
}

// Key returns the cache key of a resource's desired objects: its UID and generation, plus extra inputs that are
// not part of its spec (e.g. the generation of a resource it inherits values from).
func Key(obj client.Object, extra ...string) string {
	key := fmt.Sprintf("%s/%d", obj.GetUID(), obj.GetGeneration())
	for _, e := range extra {
		key += "/" + e
	}
	return key
}

// Desired returns the objects to apply for obj, rendering and preparing them (owned by obj, namespaced objects
// without a namespace put into namespace) only when key changed since the last call for obj; on failure it also
// returns the condition reason.
func (l *Lifecycle) Desired(obj client.Object, key, namespace string, render RenderFunc) ([]*unstructured.Unstructured, string, error) {
	if cached, ok := l.prepared.Load(obj.GetName()); ok {
		if p := cached.(prepared); p.key == key {
			return p.objects, "", nil
		}
	}
	objs, err := render()
	if err != nil {
		return nil, sailv1.ReasonRenderError, err
	}
	if err := l.Applier.Prepare(objs, obj, namespace); err != nil {
		return nil, sailv1.ReasonReconcileError, err
	}
	l.prepared.Store(obj.GetName(), prepared{key: key, objects: objs})
	return objs, "", nil
}

// Forget drops the desired objects cached for the resource called name (call when it is gone).
func (l *Lifecycle) Forget(name string) { l.prepared.Delete(name) }

// Cached returns how many resources have desired objects cached.
func (l *Lifecycle) Cached() int {
	n := 0
	l.prepared.Range(func(any, any) bool { n++; return true })
	return n
}

// ApplyAndPrune applies objs and deletes the objects the inventory (inv, a field of obj's status) lists that are
// no longer desired. New objects are recorded in the inventory before they are created, so a crash in between
// cannot leak them; on return *inv lists what exists (what is desired plus what could not be pruned). what
// describes the applied objects in events, e.g. "istio-cni v1.31.0".
func (l *Lifecycle) ApplyAndPrune(ctx context.Context, obj client.Object, inv *[]sailv1.InventoryEntry, objs []*unstructured.Unstructured, what string) error {
	current := apply.Inventory(objs)
	old := *inv
	if len(apply.Diff(current, old)) > 0 {
		if err := l.patchInventory(ctx, obj, inv, apply.Union(old, current)); err != nil {
			return err
		}
	}
	changes, err := l.Applier.Apply(ctx, objs)
	Report(ctx, l.Recorder, obj, changes, what)
	if err != nil {
		return err
	}
	failed, err := l.Applier.Delete(ctx, apply.Diff(*inv, current))
	*inv = apply.Union(current, failed)
	if err != nil {
		return fmt.Errorf("pruning objects no longer rendered: %w", err)
	}
	return nil
}

// Report logs and records an event on obj for the objects that were created or changed; what names the applied
// thing in the event ("Applied <what>: ..."). Nothing is recorded when nothing changed.
func Report(ctx context.Context, recorder events.EventRecorder, obj client.Object, changes []apply.Change, what string) {
	var created, configured int
	for _, c := range changes {
		switch c.Action {
		case apply.Created:
			created++
		case apply.Configured:
			configured++
		}
	}
	if created+configured == 0 {
		return
	}
	log.FromContext(ctx).Info("applied objects", "created", created, "configured", configured, "total", len(changes))
	if recorder != nil {
		recorder.Eventf(obj, nil, corev1.EventTypeNormal, "Applied", "Apply",
			"Applied %s: %d objects created, %d configured", what, created, configured)
	}
}

// Finalize deletes everything applied for obj (what the inventory lists plus what render returns, in case the
// inventory lags; render may fail, e.g. when an input is gone), then removes the finalizer.
func (l *Lifecycle) Finalize(ctx context.Context, obj client.Object, inv *[]sailv1.InventoryEntry, namespace string, render RenderFunc) error {
	if !controllerutil.ContainsFinalizer(obj, l.Finalizer) {
		return nil
	}
	if _, done := l.finalized.Load(obj.GetUID()); !done {
		if err := l.deleteAll(ctx, obj, inv, namespace, render); err != nil {
			return err
		}
	}
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(obj, l.Finalizer)
	if err := l.Client.Patch(ctx, obj, patch); client.IgnoreNotFound(err) != nil {
		return err
	}
	l.ForgetInventory(client.ObjectKeyFromObject(obj))
	return nil
}

// deleteAll deletes what the inventory lists plus what render returns, and remembers that obj was finalized.
// When some deletions fail, the inventory is narrowed to what is left, and both errors are returned.
func (l *Lifecycle) deleteAll(ctx context.Context, obj client.Object, inv *[]sailv1.InventoryEntry, namespace string, render RenderFunc) error {
	entries := apply.Union(*inv, l.leftovers(ctx, obj, namespace, render))
	if failed, err := l.Applier.Delete(ctx, entries); err != nil {
		if patchErr := l.patchInventory(ctx, obj, inv, failed); patchErr != nil {
			err = errors.Join(err, fmt.Errorf("recording the objects still to delete in status.inventory: %w", patchErr))
		}
		return err
	}
	log.FromContext(ctx).Info("deleted the applied objects", "count", len(entries))
	l.prepared.Delete(obj.GetName())
	now := time.Now()
	l.finalized.Range(func(uid, at any) bool {
		if now.Sub(at.(time.Time)) > finalizedMemory {
			l.finalized.Delete(uid)
		}
		return true
	})
	l.finalized.Store(obj.GetUID(), now)
	return nil
}

// leftovers returns the inventory entries of what render returns, for a resource being deleted. When render (or
// preparing its objects) fails, e.g. because an input is gone, the failure is logged and recorded as a warning
// event, and only the inventory is deleted: objects applied but not recorded there would be left behind.
func (l *Lifecycle) leftovers(ctx context.Context, obj client.Object, namespace string, render RenderFunc) []sailv1.InventoryEntry {
	objs, err := render()
	if err == nil {
		err = l.Applier.Prepare(objs, obj, namespace)
	}
	if err == nil {
		return apply.Inventory(objs)
	}
	log.FromContext(ctx).Info("deleting only the objects the inventory lists: rendering the others failed", "error", err.Error())
	if l.Recorder != nil {
		l.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, "LeftoversNotRendered", "Finalize",
			"Deleting only the objects status.inventory lists: rendering what else may have been applied failed: %v", err)
	}
	return nil
}

// CheckNamespace returns a reason and message when the namespace cannot be installed into (it does not exist or
// is being deleted); both are empty when it can.
func CheckNamespace(ctx context.Context, reader client.Reader, name string) (reason, message string, err error) {
	ns := NamespaceMetadata()
	if err := reader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return sailv1.ReasonNamespaceNotFound, fmt.Sprintf("Namespace %q does not exist; create it (kubectl create namespace %s).", name, name), nil
		}
		return "", "", err
	}
	if !ns.DeletionTimestamp.IsZero() {
		return sailv1.ReasonNamespaceTerminating, fmt.Sprintf("Namespace %q is being deleted; wait until it is gone, then create it again.", name), nil
	}
	return "", "", nil
}

// Outcome is what one reconcile of a resource observed.
type Outcome struct {
	// Err is why the desired state could not be applied, with Reason its condition reason; nil when it was.
	Err    error
	Reason string
	// Applied completes the Reconciled message when the desired state was applied, e.g. "istio-cni v1.31.0".
	Applied string
	// Ready tells whether the applied workloads are ready; ReadyMessage says what is ready, or why not.
	Ready        bool
	ReadyMessage string
	// NotReadyReason is the reason of Ready False when not ready (default NotReady).
	NotReadyReason string
}

// Fail records the first failure of a reconcile.
func (o *Outcome) Fail(reason string, err error) {
	if o.Err == nil {
		o.Err, o.Reason = err, reason
	}
}

// SetConditions sets Reconciled and Ready of generation gen from the outcome, derives the kstatus conditions,
// and returns the one-word state.
func (o *Outcome) SetConditions(conds *[]metav1.Condition, gen int64) sailv1.LifecycleState {
	if o.Err != nil {
		status.Set(conds, gen, sailv1.ConditionReconciled, metav1.ConditionFalse, o.Reason, Message(o.Err))
		status.Set(conds, gen, sailv1.ConditionReady, metav1.ConditionFalse, sailv1.ReasonNotReady,
			"Not ready because the last reconcile failed; see the Reconciled condition.")
	} else {
		status.Set(conds, gen, sailv1.ConditionReconciled, metav1.ConditionTrue, sailv1.ReasonReconcileSucceeded,
			fmt.Sprintf("%s is applied.", o.Applied))
		if o.Ready {
			status.Set(conds, gen, sailv1.ConditionReady, metav1.ConditionTrue, sailv1.ReasonReady, o.ReadyMessage)
		} else {
			reason := o.NotReadyReason
			if reason == "" {
				reason = sailv1.ReasonNotReady
			}
			status.Set(conds, gen, sailv1.ConditionReady, metav1.ConditionFalse, reason, o.ReadyMessage)
		}
	}
	status.SetKstatus(conds, gen)
	return status.State(*conds)
}

// Events records an event when obj became ready, and a warning when the reconcile failed in a new way.
func (l *Lifecycle) Events(obj client.Object, before, after []metav1.Condition, o *Outcome) {
	if l.Recorder == nil {
		return
	}
	if status.True(after, sailv1.ConditionReady) && !status.True(before, sailv1.ConditionReady) {
		l.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, "Ready", "Reconcile", "%s is ready", o.Applied)
	}
	if o.Err != nil && !sameCondition(before, after, sailv1.ConditionReconciled) {
		l.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, o.Reason, "Reconcile", "%s", Message(o.Err))
	}
}

func sameCondition(a, b []metav1.Condition, condType string) bool {
	var x, y *metav1.Condition
	for i := range a {
		if a[i].Type == condType {
			x = &a[i]
		}
	}
	for i := range b {
		if b[i].Type == condType {
			y = &b[i]
		}
	}
	if x == nil || y == nil {
		return x == y
	}
	return x.Status == y.Status && x.Reason == y.Reason && x.Message == y.Message
}

// Message returns an error's text for a condition message.
func Message(err error) string {
	if msg := err.Error(); msg != "" {
		return msg
	}
	return "Unknown error."
}
