package ossm2

import (
	"context"
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
)

// ClusterFile is the Location.File of objects read from a cluster.
const ClusterFile = "cluster"

// ReadCluster reads from the cluster the ServiceMeshControlPlanes (of namespace, or of every namespace when it is
// empty), their ServiceMeshMemberRolls, every ServiceMeshMember, the federation resources and
// ServiceMeshExtensions (blockers), the Namespaces (labels for member selectors) and the Istio Gateways (hosts for
// OpenShift Routes).
func ReadCluster(ctx context.Context, cfg *rest.Config, namespace string) ([]Document, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	list := func(gk schema.GroupKind, version, ns string, required bool) ([]unstructured.Unstructured, error) {
		var mapping *meta.RESTMapping
		var err error
		if version != "" {
			mapping, err = mapper.RESTMapping(gk, version)
		} else {
			mapping, err = mapper.RESTMapping(gk)
		}
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
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if ns != "" && mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(mapping.Resource).Namespace(ns)
		}
		l, err := ri.List(ctx, metav1.ListOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) && !required {
				return nil, nil
			}
			return nil, fmt.Errorf("listing %s: %w", mapping.Resource.Resource, err)
		}
		items := l.Items
		sort.Slice(items, func(i, j int) bool {
			if items[i].GetNamespace() != items[j].GetNamespace() {
				return items[i].GetNamespace() < items[j].GetNamespace()
			}
			return items[i].GetName() < items[j].GetName()
		})
		for i := range items {
			if items[i].GetAPIVersion() == "" {
				items[i].SetAPIVersion(mapping.GroupVersionKind.GroupVersion().String())
				items[i].SetKind(mapping.GroupVersionKind.Kind)
			}
		}
		return items, nil
	}
	var all []unstructured.Unstructured
	smcps, err := list(schema.GroupKind{Group: maistraGroup, Kind: kindSMCP}, "v2", namespace, true)
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
	all = append(all, smcps...)
	cpNamespaces := map[string]bool{}
	for _, s := range smcps {
		cpNamespaces[s.GetNamespace()] = true
	}
	members := map[string]bool{}
	for _, step := range []struct {
		gk      schema.GroupKind
		version string
		ns      string
	}{
		{schema.GroupKind{Group: maistraGroup, Kind: kindSMMR}, "v1", namespace},
		{schema.GroupKind{Group: maistraGroup, Kind: kindSMM}, "v1", ""},
		{schema.GroupKind{Group: federationGroup, Kind: "ServiceMeshPeer"}, "", namespace},
		{schema.GroupKind{Group: federationGroup, Kind: "ExportedServiceSet"}, "", namespace},
		{schema.GroupKind{Group: federationGroup, Kind: "ImportedServiceSet"}, "", namespace},
		{schema.GroupKind{Group: maistraGroup, Kind: "ServiceMeshExtension"}, "", ""},
		{schema.GroupKind{Kind: kindNamespace}, "v1", ""},
		{schema.GroupKind{Group: "networking.istio.io", Kind: kindGateway}, "", ""},
	} {
		items, err := list(step.gk, step.version, step.ns, false)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			switch step.gk.Kind {
			case kindSMMR:
				configured, _, _ := unstructured.NestedStringSlice(it.Object, "status", "configuredMembers")
				for _, m := range configured {
					members[m] = true
				}
			case kindSMM:
				ref, _, _ := unstructured.NestedString(it.Object, "spec", "controlPlaneRef", "namespace")
				if !cpNamespaces[ref] {
					continue
				}
				members[it.GetNamespace()] = true
			case "ServiceMeshExtension":
				// Extensions of other meshes are not this migration's business.
				if !members[it.GetNamespace()] && !cpNamespaces[it.GetNamespace()] {
					continue
				}
			}
			all = append(all, it)
		}
	}
	docs := make([]Document, 0, len(all))
	for _, u := range all {
		tree, err := decodeJSONTree(mustJSON(u.Object))
		if err != nil {
			return nil, err
		}
		obj, _ := tree.(map[string]any)
		docs = append(docs, Document{
			Loc: Location{File: ClusterFile, Kind: u.GetKind(), Namespace: u.GetNamespace(),
				Name: u.GetName()},
			APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Object: obj,
		})
	}
	return docs, nil
}
