// Package apply applies rendered objects with server-side apply, skips objects that already match what was last
// applied (so a reconcile with nothing to change sends no write request), records what was applied as an
// inventory, and prunes or deletes objects by inventory.
package apply

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sail-mesh/sail/internal/pipeline/objectid"
)

// Labels and annotations Sail puts on every object it applies.
const (
	// LabelManagedBy marks objects applied by Sail; the operator's cache only watches objects with this label.
	LabelManagedBy = "sailoperator.io/managed-by"
	// LabelManagedByValue is the value of LabelManagedBy.
	LabelManagedByValue = "sail-operator"
	// LabelOwnerKind and LabelOwnerName name the Sail resource an object belongs to.
	LabelOwnerKind = "sailoperator.io/owner-kind"
	// LabelOwnerName is the name of the Sail resource an object belongs to.
	LabelOwnerName = "sailoperator.io/owner-name"
	// AnnotationAppliedHash is a digest of the object as Sail last applied it (see objectid.Hash).
	AnnotationAppliedHash = objectid.AnnotationHash
)

// Action says what Apply did with an object.
type Action string

// Actions.
const (
	// Created means the object did not exist.
	Created Action = "created"
	// Configured means the object existed and was changed or repaired.
	Configured Action = "configured"
	// Unchanged means no request was sent.
	Unchanged Action = "unchanged"
)

// Change is what happened to one object.
type Change struct {
	// ID is namespace_name_group_kind.
	ID string
	// Action is what was done.
	Action Action
}

// Owner is the Sail resource that owns applied objects.
type Owner interface {
	client.Object
}

// Applier applies and deletes objects for Sail's controllers.
type Applier struct {
	client       client.Client
	reader       client.Reader
	apiReader    client.Reader // nil: see UseAPIReader
	scheme       *runtime.Scheme
	fieldManager string
	concurrency  int

	mu sync.Mutex
	// applied remembers, per object, our field manager's managed fields as the API server returned them after our
	// last apply; a live object whose entry differs was changed by someone else.
	applied map[string]appliedRecord
	stats   Stats
}

// Stats counts requests an Applier sent.
type Stats struct {
	// Applies is the number of server-side apply requests.
	Applies int64
	// Deletes is the number of delete requests.
	Deletes int64
	// Skipped is the number of objects found unchanged without a request.
	Skipped int64
}

type appliedRecord struct {
	uid    types.UID
	hash   string
	fields string
	// generation is the object's metadata.generation in the API server's answer to the last apply.
	generation int64
}

// NewApplier returns an Applier that writes with c under fieldManager and reads live objects through reader
// (normally the manager's cache, which must see objects labelled LabelManagedBy).
func NewApplier(c client.Client, reader client.Reader, scheme *runtime.Scheme, fieldManager string) *Applier {
	return &Applier{client: c, reader: reader, scheme: scheme, fieldManager: fieldManager, concurrency: 16,
		applied: map[string]appliedRecord{}}
}

// UseAPIReader makes the Applier confirm through r (normally the manager's API reader, which reads from the API
// server) an object that it applied itself and that its reader shows missing or at another applied hash: a cache
// that has not seen that apply yet would otherwise cause a second apply that changes nothing.
func (a *Applier) UseAPIReader(r client.Reader) { a.apiReader = r }

// Stats returns a snapshot of the request counters.
func (a *Applier) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// Prepare makes rendered objects ready to apply: it puts namespaced objects without a namespace into
// defaultNamespace, labels them as Sail's, sets owner as their controller and strips fields that istiod owns at
// run time. Cluster-scoped owners may own objects of any scope.
func (a *Applier) Prepare(objs []*unstructured.Unstructured, owner Owner, defaultNamespace string) error {
	gvk, err := a.client.GroupVersionKindFor(owner)
	if err != nil {
		return err
	}
	for _, u := range objs {
		namespaced, err := a.client.IsObjectNamespaced(u)
		if err != nil {
			return fmt.Errorf("%s %s: %w (is the CRD for this kind installed?)", u.GetKind(), u.GetName(), err)
		}
		if namespaced && u.GetNamespace() == "" {
			u.SetNamespace(defaultNamespace)
		}
		if !namespaced {
			u.SetNamespace("")
		}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelManagedBy] = LabelManagedByValue
		labels[LabelOwnerKind] = gvk.Kind
		labels[LabelOwnerName] = owner.GetName()
		u.SetLabels(labels)
		u.SetOwnerReferences([]metav1.OwnerReference{{
			APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: owner.GetName(), UID: owner.GetUID(),
			Controller: ptr(true), BlockOwnerDeletion: ptr(true),
		}})
		StripRuntimeFields(u)
		if content := u.GetAnnotations()[AnnotationAppliedHash]; content != "" {
			// The object carries the digest of its rendered content; what Prepare changed is a function of the
			// owner and namespace, so the digest of the result needs no second encoding of the object.
			objectid.SetHash(u, objectid.Digest(content, string(owner.GetUID()), gvk.Kind, owner.GetName(), u.GetNamespace()))
		}
	}
	return nil
}

// Apply applies objs in stages (CRDs and namespaces first, webhooks last), objects of a stage in parallel. An
// object whose live copy still carries the same applied hash and whose fields owned by Sail are unchanged since
// Sail's last apply is skipped without a request.
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured) ([]Change, error) {
	var changes []Change
	var mu sync.Mutex
	for _, stage := range Stages(objs) {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(a.concurrency)
		for _, u := range stage {
			g.Go(func() error {
				action, err := a.applyOne(gctx, u)
				if err != nil {
					return fmt.Errorf("applying %s %s: %w", u.GetKind(), key(u), err)
				}
				mu.Lock()
				changes = append(changes, Change{ID: objectid.ID(u), Action: action})
				mu.Unlock()
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return changes, err
		}
		log.FromContext(ctx).V(1).Info("applied stage", "objects", len(stage), "firstKind", stage[0].GetKind())
	}
	return changes, nil
}

func (a *Applier) applyOne(ctx context.Context, u *unstructured.Unstructured) (Action, error) {
	hash := u.GetAnnotations()[AnnotationAppliedHash]
	if hash == "" {
		var err error
		if hash, err = objectid.Hash(u); err != nil {
			return "", err
		}
	}
	if u.GetAnnotations()[AnnotationAppliedHash] != hash {
		objectid.SetHash(u, hash)
	}

	id := objectid.ID(u)
	live, exists, err := a.live(ctx, u, id, hash)
	if err != nil {
		return "", err
	}
	if exists && a.unchanged(ctx, u, id, hash, live) {
		a.count(func(s *Stats) { s.Skipped++ })
		return Unchanged, nil
	}
	var liveIfExists client.Object
	if exists {
		liveIfExists = live
	}
	applied := Request(u, liveIfExists)
	if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied),
		client.FieldOwner(a.fieldManager), client.ForceOwnership); err != nil {
		return "", err
	}
	a.count(func(s *Stats) { s.Applies++ })
	a.remember(id, hash, applied)
	if exists {
		return Configured, nil
	}
	return Created, nil
}

// Unchanged reports, without a write, whether u is live as Apply would leave it (the checks Apply makes before it
// skips an object, counted as skipped too). u must carry its hash (AnnotationAppliedHash); for a
// CustomResourceDefinition its metadata is enough, since Apply compares only a CRD's metadata.
func (a *Applier) Unchanged(ctx context.Context, u *unstructured.Unstructured) (bool, error) {
	hash := u.GetAnnotations()[AnnotationAppliedHash]
	if hash == "" {
		return false, nil
	}
	id := objectid.ID(u)
	live, exists, err := a.live(ctx, u, id, hash)
	if err != nil || !exists || !a.unchanged(ctx, u, id, hash, live) {
		return false, err
	}
	a.count(func(s *Stats) { s.Skipped++ })
	return true, nil
}

// live reads the live copy of u through the reader, and through the API reader when the reader lags behind the
// Applier's own last apply of u at this hash (it shows no object, or another hash). exists is false when there is
// no live copy.
func (a *Applier) live(ctx context.Context, u *unstructured.Unstructured, id, hash string) (client.Object, bool, error) {
	live, err := a.getLive(ctx, a.reader, u)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, false, err
	}
	if (err == nil && live.GetAnnotations()[AnnotationAppliedHash] == hash) || a.apiReader == nil {
		return live, err == nil, nil
	}
	a.mu.Lock()
	rec, ok := a.applied[id]
	a.mu.Unlock()
	if !ok || rec.hash != hash {
		return live, err == nil, nil
	}
	live, err = a.getLive(ctx, a.apiReader, u)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, false, err
	}
	return live, err == nil, nil
}

// getLive reads the live object through reader, as a typed object when the scheme knows the kind (so the
// cache shares the informers the controllers already run). CRDs are read as metadata only: their schemas are
// large and only metadata is compared.
func (a *Applier) getLive(ctx context.Context, reader client.Reader, u *unstructured.Unstructured) (client.Object, error) {
	var obj client.Object
	if u.GetKind() == "CustomResourceDefinition" {
		pom := &metav1.PartialObjectMetadata{}
		pom.SetGroupVersionKind(u.GroupVersionKind())
		obj = pom
	} else if typed, err := a.scheme.New(u.GroupVersionKind()); err == nil {
		obj = typed.(client.Object)
	} else {
		l := &unstructured.Unstructured{}
		l.SetGroupVersionKind(u.GroupVersionKind())
		obj = l
	}
	if err := reader.Get(ctx, client.ObjectKeyFromObject(u), obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func (a *Applier) unchanged(ctx context.Context, u *unstructured.Unstructured, id, hash string, live client.Object) bool {
	if live.GetAnnotations()[AnnotationAppliedHash] != hash || live.GetDeletionTimestamp() != nil {
		return false
	}
	a.mu.Lock()
	rec, ok := a.applied[id]
	a.mu.Unlock()
	if ok {
		return rec.uid == live.GetUID() && rec.hash == hash && rec.fields == a.ownedFields(u.GetKind(), live)
	}
	// Nothing remembered (e.g. after a restart): an object that carries the digest Sail applies, Sail's apply
	// entry and every value Sail would apply is adopted without a request; anything else is applied once, which
	// repairs drift that happened while the operator was away. CRDs carry large schemas that Istio's releases
	// never ask anyone to edit: the digest and Sail's field ownership adopt them.
	fields := a.ownedFields(u.GetKind(), live)
	if fields == "" {
		return false
	}
	if u.GetKind() != "CustomResourceDefinition" {
		want := u.DeepCopy()
		keepLiveFailurePolicy(want, live)
		if path := liveDifference(live, want); path != "" {
			log.FromContext(ctx).V(1).Info("re-applying an object changed while the operator was away", "object", id, "field", path)
			return false
		}
	}
	a.mu.Lock()
	a.applied[id] = appliedRecord{uid: live.GetUID(), hash: hash, fields: fields, generation: live.GetGeneration()}
	a.mu.Unlock()
	return true
}

func (a *Applier) remember(id, hash string, applied *unstructured.Unstructured) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applied[id] = appliedRecord{uid: applied.GetUID(), hash: hash, fields: a.ownedFields(applied.GetKind(), applied),
		generation: applied.GetGeneration()}
}

// AppliedGeneration returns the metadata.generation the API server gave u when Sail last applied it (0 when
// unknown). A cached copy with a lower generation predates that apply: its status says nothing about it yet.
func (a *Applier) AppliedGeneration(u *unstructured.Unstructured) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.applied[objectid.ID(u)].generation
}

// ownedFields returns our apply entry of the object's managed fields in a canonical form (the API server's
// encoding and a decoded-then-encoded copy order keys differently; fields istiod takes over are left out), or ""
// when there is none. kind is the object's kind (a typed object read from the cache may carry none).
func (a *Applier) ownedFields(kind string, obj metav1.Object) string {
	for _, e := range obj.GetManagedFields() {
		if e.Manager == a.fieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" && e.FieldsV1 != nil {
			return canonicalFields(kind, e.FieldsV1.Raw)
		}
	}
	return ""
}

func (a *Applier) count(f func(*Stats)) {
	a.mu.Lock()
	f(&a.stats)
	a.mu.Unlock()
}

// Forget drops what the Applier remembers about objects (call after they are deleted).
func (a *Applier) Forget(ids ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		delete(a.applied, id)
	}
}

// ForgetDeleted drops what the Applier remembers about a deleted object of kind gk (whoever deleted it: a user,
// or the garbage collector after its owner went, also when the owner's finalizer was removed by hand), unless
// what it remembers is of a newer object of the same name.
func (a *Applier) ForgetDeleted(gk schema.GroupKind, obj metav1.Object) {
	id := objectid.IDOf(obj.GetNamespace(), obj.GetName(), gk)
	a.mu.Lock()
	defer a.mu.Unlock()
	if rec, ok := a.applied[id]; ok && (rec.uid == "" || rec.uid == obj.GetUID()) {
		delete(a.applied, id)
	}
}

// Remembered returns how many objects the Applier remembers.
func (a *Applier) Remembered() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.applied)
}

func key(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetName()
	}
	return u.GetNamespace() + "/" + u.GetName()
}

func ptr[T any](v T) *T { return &v }
