package framework

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/objectid"
)

// ManagedObjects returns every live object labelled as applied by Sail for an owner (sailoperator.io/owner-kind)
// and controlled by one of Sail's kinds,
// by ID (namespace_name_group_kind), mapped to its owner as "<Kind>/<name>". It lists every kind the API server
// serves, so that a leaked object of a kind nobody thought of is found too.
func (c *Cluster) ManagedObjects(ctx context.Context) (map[string]string, error) {
	cfg := rest.CopyConfig(c.Config)
	cfg.WarningHandler = rest.NoWarnings{} // listing every kind lists deprecated ones too
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil {
		return nil, fmt.Errorf("discovering the API server's kinds: %w", err)
	}
	out := map[string]string{}
	for _, gvr := range listable(lists) {
		items, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: apply.LabelOwnerKind})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", gvr, err)
		}
		for i := range items.Items {
			u := &items.Items[i]
			if !controlledBySail(u) {
				continue // a copy of Sail's labels by another controller (Endpoints, EndpointSlices of a Service)
			}
			out[objectid.ID(u)] = u.GetLabels()[apply.LabelOwnerKind] + "/" + u.GetLabels()[apply.LabelOwnerName]
		}
	}
	return out, nil
}

// controlledBySail reports whether the object's controller is one of Sail's kinds, as for everything Sail applies.
func controlledBySail(u *unstructured.Unstructured) bool {
	ref := metav1.GetControllerOf(u)
	return ref != nil && strings.HasPrefix(ref.APIVersion, sailv1.GroupVersion.Group+"/")
}

// listable returns the resources (not subresources) of lists that can be listed, events excepted.
func listable(lists []*metav1.APIResourceList) []schema.GroupVersionResource {
	var out []schema.GroupVersionResource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") || r.Name == "events" {
				continue
			}
			out = append(out, gv.WithResource(r.Name))
		}
	}
	return out
}

// InventoryObjects returns every entry of the status inventories of the IstioRevisions, IstioRevisionTags,
// IstioCNIs and ZTunnels, by ID, mapped to its owner as "<Kind>/<name>". An ID in two inventories is an error.
func (c *Cluster) InventoryObjects(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	var dup []string
	add := func(kind, name string, entries []sailv1.InventoryEntry) {
		for _, e := range entries {
			if prev, ok := out[e.ID]; ok {
				dup = append(dup, e.ID+" ("+prev+", "+kind+"/"+name+")")
			}
			out[e.ID] = kind + "/" + name
		}
	}
	if err := c.eachInventory(ctx, add); err != nil {
		return nil, err
	}
	if len(dup) > 0 {
		return out, fmt.Errorf("objects in two inventories: %s", strings.Join(dup, ", "))
	}
	return out, nil
}

func (c *Cluster) eachInventory(ctx context.Context, add func(kind, name string, entries []sailv1.InventoryEntry)) error {
	revs, tags := &sailv1.IstioRevisionList{}, &sailv1.IstioRevisionTagList{}
	cnis, ztunnels := &sailv1.IstioCNIList{}, &sailv1.ZTunnelList{}
	for _, l := range []client.ObjectList{revs, tags, cnis, ztunnels} {
		if err := c.Client.List(ctx, l); err != nil {
			return err
		}
	}
	for _, r := range revs.Items {
		add(sailv1.IstioRevisionKind, r.Name, r.Status.Inventory)
	}
	for _, r := range tags.Items {
		add(sailv1.IstioRevisionTagKind, r.Name, r.Status.Inventory)
	}
	for _, r := range cnis.Items {
		add(sailv1.IstioCNIKind, r.Name, r.Status.Inventory)
	}
	for _, r := range ztunnels.Items {
		add(sailv1.ZTunnelKind, r.Name, r.Status.Inventory)
	}
	return nil
}

// CheckInventory returns an error unless the live objects Sail applied are exactly those its status inventories
// list, each owned by the object whose inventory lists it: no leak, no duplicate, nothing missing.
func (c *Cluster) CheckInventory(ctx context.Context) error {
	inv, err := c.InventoryObjects(ctx)
	if err != nil {
		return err
	}
	live, err := c.ManagedObjects(ctx)
	if err != nil {
		return err
	}
	var problems []string
	for id, owner := range live {
		switch want, ok := inv[id]; {
		case !ok:
			problems = append(problems, "leaked (in no inventory): "+id+" of "+owner)
		case want != owner:
			problems = append(problems, "owned by "+owner+" but in the inventory of "+want+": "+id)
		}
	}
	for id, owner := range inv {
		if _, ok := live[id]; !ok {
			problems = append(problems, "missing (in the inventory of "+owner+"): "+id)
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("live objects differ from the inventories:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
