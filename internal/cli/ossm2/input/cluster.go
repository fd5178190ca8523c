package input

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/strict"
)

// ClusterFile is the Location.File of objects read from a cluster.
const ClusterFile = "cluster"

// clusterKind is a kind ReadCluster lists after the ServiceMeshControlPlanes.
type clusterKind struct {
	gk      schema.GroupKind
	version string // empty: the preferred version
	// inNamespace lists only the namespace given to ReadCluster (when one is given).
	inNamespace bool
}

// contextKinds are listed after the ServiceMeshControlPlanes, in this order; the cluster may not serve them.
var contextKinds = []clusterKind{
	{schema.GroupKind{Group: maistraGroup, Kind: KindSMMR}, "v1", true},
	{schema.GroupKind{Group: maistraGroup, Kind: KindSMM}, "v1", false},
	{schema.GroupKind{Group: federationGroup, Kind: "ServiceMeshPeer"}, "", true},
	{schema.GroupKind{Group: federationGroup, Kind: "ExportedServiceSet"}, "", true},
	{schema.GroupKind{Group: federationGroup, Kind: "ImportedServiceSet"}, "", true},
	{schema.GroupKind{Group: maistraGroup, Kind: "ServiceMeshExtension"}, "", false},
	{schema.GroupKind{Kind: KindNamespace}, "v1", false},
	{schema.GroupKind{Group: "networking.istio.io", Kind: KindGateway}, "", false},
}

// ReadCluster reads from the cluster the ServiceMeshControlPlanes (of namespace, or of every namespace when it is
// empty), their ServiceMeshMemberRolls, every ServiceMeshMember, the federation resources and
// ServiceMeshExtensions (blockers), the Namespaces (labels for member selectors) and the Istio Gateways (hosts for
// OpenShift Routes).
func ReadCluster(ctx context.Context, cfg *rest.Config, namespace string) ([]Document, error) {
	r, err := newClusterReader(ctx, cfg)
	if err != nil {
		return nil, err
	}
	smcps, err := r.list(schema.GroupKind{Group: maistraGroup, Kind: KindSMCP}, "v2", namespace, true)
	if err != nil {
		return nil, err
	}
	if len(smcps) == 0 {
		where := "any namespace"
		if namespace != "" {
			where = "namespace " + namespace
		}
		return nil, fmt.Errorf("no ServiceMeshControlPlane found in %s", where)
	}
	all := smcps
	mesh := newMeshScope(smcps)
	for _, k := range contextKinds {
		ns := ""
		if k.inNamespace {
			ns = namespace
		}
		items, err := r.list(k.gk, k.version, ns, false)
		if err != nil {
			return nil, err
		}
		all = append(all, mesh.keep(k.gk.Kind, items)...)
	}
	return clusterDocuments(all)
}

// clusterReader lists objects of any kind the cluster serves.
type clusterReader struct {
	ctx    context.Context
	mapper meta.RESTMapper
	dyn    dynamic.Interface
}

func newClusterReader(ctx context.Context, cfg *rest.Config) (*clusterReader, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return &clusterReader{ctx: ctx, mapper: mapper, dyn: dyn}, nil
}

// list lists the objects of a kind (in namespace ns, or everywhere when ns is empty), sorted by namespace and
// name. A kind the cluster does not serve is an error when required, else an empty list.
func (r *clusterReader) list(gk schema.GroupKind, version, ns string, required bool) ([]unstructured.Unstructured,
	error) {
	mapping, err := r.mapping(gk, version)
	if meta.IsNoMatchError(err) && !required {
		return nil, nil
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("the cluster does not serve %s %s: is OpenShift Service Mesh 2 installed, "+
				"and is the kubeconfig pointing at the right cluster?", gk.Kind, gk.Group)
		}
		return nil, fmt.Errorf("looking up %s: %w", gk, err)
	}
	var ri dynamic.ResourceInterface = r.dyn.Resource(mapping.Resource)
	if ns != "" && mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = r.dyn.Resource(mapping.Resource).Namespace(ns)
	}
	l, err := ri.List(r.ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && !required {
			return nil, nil
		}
		return nil, fmt.Errorf("listing %s: %w", mapping.Resource.Resource, err)
	}
	sortByName(l.Items)
	setTypes(l.Items, mapping.GroupVersionKind)
	return l.Items, nil
}

// mapping finds the resource of a kind, in version (or the preferred version when version is empty).
func (r *clusterReader) mapping(gk schema.GroupKind, version string) (*meta.RESTMapping, error) {
	if version != "" {
		return r.mapper.RESTMapping(gk, version)
	}
	return r.mapper.RESTMapping(gk)
}

func sortByName(items []unstructured.Unstructured) {
	sort.Slice(items, func(i, j int) bool {
		if items[i].GetNamespace() != items[j].GetNamespace() {
			return items[i].GetNamespace() < items[j].GetNamespace()
		}
		return items[i].GetName() < items[j].GetName()
	})
}

// setTypes sets apiVersion and kind on listed items that lack them.
func setTypes(items []unstructured.Unstructured, gvk schema.GroupVersionKind) {
	for i := range items {
		if items[i].GetAPIVersion() == "" {
			items[i].SetAPIVersion(gvk.GroupVersion().String())
			items[i].SetKind(gvk.Kind)
		}
	}
}

// meshScope tells which listed objects belong to the meshes being migrated: it learns the member namespaces from
// the member rolls and members as they are listed.
type meshScope struct {
	cpNamespaces map[string]bool
	members      map[string]bool
}

func newMeshScope(smcps []unstructured.Unstructured) *meshScope {
	m := &meshScope{cpNamespaces: map[string]bool{}, members: map[string]bool{}}
	for _, s := range smcps {
		m.cpNamespaces[s.GetNamespace()] = true
	}
	return m
}

// keep returns the items of kind to read, learning the members on the way.
func (m *meshScope) keep(kind string, items []unstructured.Unstructured) []unstructured.Unstructured {
	var out []unstructured.Unstructured
	for _, it := range items {
		if m.learn(kind, it) {
			out = append(out, it)
		}
	}
	return out
}

// learn records the members an object names and tells whether to read it: members of other meshes and
// extensions of other meshes are not this migration's business.
func (m *meshScope) learn(kind string, it unstructured.Unstructured) bool {
	switch kind {
	case KindSMMR:
		configured, _, _ := unstructured.NestedStringSlice(it.Object, "status", "configuredMembers")
		for _, ns := range configured {
			m.members[ns] = true
		}
	case KindSMM:
		ref, _, _ := unstructured.NestedString(it.Object, "spec", "controlPlaneRef", "namespace")
		if !m.cpNamespaces[ref] {
			return false
		}
		m.members[it.GetNamespace()] = true
	case "ServiceMeshExtension":
		return m.members[it.GetNamespace()] || m.cpNamespaces[it.GetNamespace()]
	}
	return true
}

// clusterDocuments turns listed objects into documents located in the cluster.
func clusterDocuments(all []unstructured.Unstructured) ([]Document, error) {
	docs := make([]Document, 0, len(all))
	for _, u := range all {
		data, err := json.Marshal(u.Object)
		if err != nil {
			panic(err)
		}
		tree, err := strict.Tree(data)
		if err != nil {
			return nil, err
		}
		obj, _ := tree.(map[string]any)
		docs = append(docs, Document{
			Loc: report.Location{File: ClusterFile, Kind: u.GetKind(), Namespace: u.GetNamespace(),
				Name: u.GetName()},
			APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Object: obj,
		})
	}
	return docs, nil
}
