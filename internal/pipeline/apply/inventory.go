package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/objectid"
)

// Entry records one applied object: its ID (namespace_name_group_kind) and API version.
type Entry = sailv1.InventoryEntry

// Inventory returns the entries of objs, sorted by ID.
func Inventory(objs []*unstructured.Unstructured) []Entry {
	out := make([]Entry, 0, len(objs))
	for _, u := range objs {
		out = append(out, Entry{ID: objectid.ID(u), Version: u.GroupVersionKind().Version})
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b Entry) bool { return a.ID == b.ID })
}

// Diff returns the entries of old that are not in current.
func Diff(old, current []Entry) []Entry {
	keep := map[string]bool{}
	for _, e := range current {
		keep[e.ID] = true
	}
	var out []Entry
	for _, e := range old {
		if !keep[e.ID] {
			out = append(out, e)
		}
	}
	return out
}

// Union returns the entries of a and b, each ID once, sorted.
func Union(a, b []Entry) []Entry {
	all := append(slices.Clone(a), b...)
	slices.SortFunc(all, func(x, y Entry) int { return strings.Compare(x.ID, y.ID) })
	return slices.CompactFunc(all, func(x, y Entry) bool { return x.ID == y.ID })
}

// EntryObject returns an empty object with the entry's identity, for delete requests.
func EntryObject(e Entry) (*unstructured.Unstructured, error) {
	parts := strings.Split(e.ID, "_")
	if len(parts) != 4 {
		return nil, fmt.Errorf("inventory entry %q is not namespace_name_group_kind", e.ID)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: parts[2], Version: e.Version, Kind: parts[3]})
	u.SetNamespace(parts[0])
	u.SetName(parts[1])
	return u, nil
}

// Delete deletes the objects of entries in reverse apply order (webhooks first). CRDs and namespaces are never
// deleted. It returns the entries it could not delete, with the errors joined; objects already gone count as
// deleted.
func (a *Applier) Delete(ctx context.Context, entries []Entry) ([]Entry, error) {
	var objs []*unstructured.Unstructured
	byID := map[string]Entry{}
	for _, e := range entries {
		u, err := EntryObject(e)
		if err != nil {
			return nil, err
		}
		if k := u.GetKind(); k == "CustomResourceDefinition" || k == "Namespace" {
			continue
		}
		objs = append(objs, u)
		byID[e.ID] = e
	}
	stages := Stages(objs)
	var failed []Entry
	var errs []string
	for i := len(stages) - 1; i >= 0; i-- {
		for _, u := range stages[i] {
			err := a.client.Delete(ctx, u, client.PropagationPolicy("Background"))
			a.count(func(s *Stats) { s.Deletes++ })
			if err != nil && !apierrors.IsNotFound(err) && !isNoMatch(err) {
				failed = append(failed, byID[objectid.ID(u)])
				errs = append(errs, fmt.Sprintf("%s %s: %v", u.GetKind(), key(u), err))
				continue
			}
			a.Forget(objectid.ID(u))
		}
	}
	if len(errs) > 0 {
		return failed, fmt.Errorf("deleting %d objects failed: %s", len(errs), strings.Join(errs, "; "))
	}
	return nil, nil
}

// isNoMatch tells whether the object's kind is no longer served, so the object cannot exist.
func isNoMatch(err error) bool {
	return meta.IsNoMatchError(err)
}
