package preview

import (
	"context"
	"fmt"

	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/operator"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

// InputFieldManager is the field manager of sailctl's dry-run of the input resources themselves (what
// `kubectl apply --server-side` of the files would do, under sailctl's name).
const InputFieldManager = "sailctl"

// Action is what applying the input would do to one object.
type Action string

// Actions.
const (
	Create    Action = "create"
	Change    Action = "change"
	Prune     Action = "prune"
	Unchanged Action = "unchanged"
)

// ObjectDiff is the difference of one object between the cluster and what the operator would apply.
type ObjectDiff struct {
	// Action is what would happen.
	Action Action
	// Kind, Namespace and Name identify the object; By names the Sail resource that applies (or prunes) it.
	Kind, Namespace, Name, By string
	// Unified is the unified diff of the live object and the dry-run result; empty when unchanged.
	Unified string
}

// Differ compares planned groups with a cluster by server-side apply dry-runs.
type Differ struct {
	// Client reads and dry-runs against the cluster.
	Client client.Client
}

// Diff returns the differences of the input resources, of what their controllers would apply and of what they
// would prune (what their status.inventory lists that is no longer rendered), in input order.
func (d *Differ) Diff(ctx context.Context, groups []Group) ([]ObjectDiff, error) {
	applier := apply.NewApplier(d.Client, d.Client, d.Client.Scheme(), operator.FieldManager)
	var out []ObjectDiff
	seen := map[Resource]bool{}
	for _, g := range groups {
		if !seen[g.Source] {
			seen[g.Source] = true
			od, err := d.input(ctx, g.Source)
			if err != nil {
				return nil, err
			}
			out = append(out, od)
		}
		ods, err := d.group(ctx, applier, g)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.Source.Where(), err)
		}
		out = append(out, ods...)
	}
	return out, nil
}

// input dry-runs the input resource itself.
func (d *Differ) input(ctx context.Context, r Resource) (ObjectDiff, error) {
	u, err := toUnstructured(d.Client.Scheme(), r.Object)
	if err != nil {
		return ObjectDiff{}, err
	}
	od, err := d.object(ctx, u, InputFieldManager, "the input")
	if err != nil {
		return ObjectDiff{}, fmt.Errorf("%s: %w", r.Where(), err)
	}
	return od, nil
}

// group prepares a group's objects with the owner's live UID, dry-runs them and lists what would be pruned.
func (d *Differ) group(ctx context.Context, applier *apply.Applier, g Group) ([]ObjectDiff, error) {
	by := ownerKind(g.Owner) + " " + g.Owner.GetName()
	live, err := d.liveOwner(ctx, g.Owner)
	if err != nil {
		return nil, err
	}
	if g.Revision {
		// The Istio controller sets itself as the revision's controller.
		setOwnerUID(g.Objects[0], live)
	} else {
		owner := g.Owner.DeepCopyObject().(client.Object)
		if live != nil {
			owner.SetUID(live.GetUID())
		}
		if err := applier.Prepare(g.Objects, owner, g.Namespace); err != nil {
			return nil, err
		}
	}
	var out []ObjectDiff
	for _, u := range g.Objects {
		od, err := d.object(ctx, u, operator.FieldManager, by)
		if err != nil {
			return nil, err
		}
		out = append(out, od)
	}
	pruned, err := d.pruned(ctx, g, live, by)
	return append(out, pruned...), err
}

// liveOwner reads the group's owner from the cluster; nil when it does not exist.
func (d *Differ) liveOwner(ctx context.Context, owner client.Object) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(sailv1.GroupVersion.WithKind(ownerKind(owner)))
	if err := d.Client.Get(ctx, client.ObjectKey{Name: owner.GetName()}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s %s: %w", ownerKind(owner), owner.GetName(), err)
	}
	return u, nil
}

// setOwnerUID gives u's owner references the live owner's UID.
func setOwnerUID(u *unstructured.Unstructured, live *unstructured.Unstructured) {
	if live == nil {
		return
	}
	refs := u.GetOwnerReferences()
	for i := range refs {
		refs[i].UID = live.GetUID()
	}
	u.SetOwnerReferences(refs)
}

// object dry-runs a server-side apply of u and compares the result with the live object.
func (d *Differ) object(ctx context.Context, u *unstructured.Unstructured, manager, by string) (ObjectDiff, error) {
	od := ObjectDiff{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(), By: by}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	err := d.Client.Get(ctx, client.ObjectKeyFromObject(u), live)
	switch {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return od, fmt.Errorf("reading %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	var liveObj client.Object
	if live != nil {
		liveObj = live
	}
	result, err := d.dryRun(ctx, apply.Request(u, liveObj), manager)
	if err != nil {
		return od, err
	}
	od.Action, od.Unified, err = compare(live, result, u)
	return od, err
}

// dryRun returns what a forced server-side apply of u under manager would store. Owner references without a
// UID (the owner does not exist yet) are left out of the request and put back into the result.
func (d *Differ) dryRun(ctx context.Context, u *unstructured.Unstructured, manager string) (*unstructured.Unstructured, error) {
	req := u.DeepCopy()
	refs := req.GetOwnerReferences()
	unknownOwner := len(refs) > 0 && refs[0].UID == ""
	if unknownOwner {
		req.SetOwnerReferences(nil)
	}
	if err := d.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(req), client.DryRunAll,
		client.FieldOwner(manager), client.ForceOwnership); err != nil {
		if apierrors.IsNotFound(err) && u.GetNamespace() != "" {
			return nil, fmt.Errorf("dry-run of %s %s/%s: %w (the operator needs the namespace: kubectl create "+
				"namespace %s)", u.GetKind(), u.GetNamespace(), u.GetName(), err, u.GetNamespace())
		}
		return nil, fmt.Errorf("dry-run of %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	if unknownOwner {
		req.SetOwnerReferences(refs)
	}
	return req, nil
}

// pruned lists the live objects the owner's status.inventory records that the group no longer renders: those
// the operator's lifecycle would delete after applying.
func (d *Differ) pruned(ctx context.Context, g Group, live *unstructured.Unstructured, by string) ([]ObjectDiff, error) {
	if live == nil || g.Revision {
		return nil, nil
	}
	var status struct {
		Inventory []sailv1.InventoryEntry `json:"inventory"`
	}
	if raw, ok := live.Object["status"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &status); err != nil {
			return nil, fmt.Errorf("reading status.inventory: %w", err)
		}
	}
	inv := status.Inventory
	var out []ObjectDiff
	for _, e := range apply.Diff(inv, apply.Inventory(g.Objects)) {
		obj, err := apply.EntryObject(e)
		if err != nil {
			return nil, err
		}
		if err := d.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				continue
			}
			return nil, err
		}
		_, unified, err := compare(obj, nil, obj)
		if err != nil {
			return nil, err
		}
		out = append(out, ObjectDiff{Action: Prune, Kind: obj.GetKind(), Namespace: obj.GetNamespace(),
			Name: obj.GetName(), By: by, Unified: unified})
	}
	return out, nil
}

// compare returns the action and unified diff from live (nil: absent) to result (nil: deleted).
func compare(live, result, id *unstructured.Unstructured) (Action, string, error) {
	a, err := normalized(live)
	if err != nil {
		return "", "", err
	}
	b, err := normalized(result)
	if err != nil {
		return "", "", err
	}
	if a == b {
		return Unchanged, "", nil
	}
	action := Change
	if live == nil {
		action = Create
	}
	path := id.GetKind() + "/" + id.GetName()
	if id.GetNamespace() != "" {
		path = id.GetKind() + "/" + id.GetNamespace() + "/" + id.GetName()
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(a), B: difflib.SplitLines(b),
		FromFile: "live/" + path, ToFile: "applied/" + path, Context: 3})
	return action, text, err
}

// normalized is the YAML of u without the fields every write changes (managedFields, resourceVersion,
// generation, uid, creationTimestamp) and without status; "" for nil.
func normalized(u *unstructured.Unstructured) (string, error) {
	if u == nil {
		return "", nil
	}
	c := u.DeepCopy()
	c.SetManagedFields(nil)
	c.SetResourceVersion("")
	c.SetGeneration(0)
	c.SetUID("")
	c.SetCreationTimestamp(metav1.Time{})
	unstructured.RemoveNestedField(c.Object, "status")
	unstructured.RemoveNestedField(c.Object, "metadata", "creationTimestamp")
	data, err := yaml.Marshal(c.Object)
	return string(data), err
}

func ownerKind(o client.Object) string {
	return kindOf(o)
}
