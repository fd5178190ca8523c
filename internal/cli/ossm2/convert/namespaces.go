package convert

import (
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
)

// namespaceLabels collects the Namespace objects of a control plane, which only add labels: one per namespace,
// in the order of the first label.
type namespaceLabels struct {
	rep     *report.Report
	objects []resource.Object
	byName  map[string]*unstructured.Unstructured
}

func newNamespaceLabels(rep *report.Report) *namespaceLabels {
	return &namespaceLabels{rep: rep, byName: map[string]*unstructured.Unstructured{}}
}

// add adds labels l to namespace ns, recording from as where each comes from; comment describes the Namespace
// object when it is the first label of ns.
func (n *namespaceLabels) add(ns string, l map[string]string, from report.Location, comment string) {
	obj := n.byName[ns]
	if obj == nil {
		obj = resource.New("v1", "Namespace", "", ns)
		n.byName[ns] = obj
		n.objects = append(n.objects, resource.Object{Unstructured: obj, Comment: comment +
			". Only adds labels: apply with kubectl apply (or server-side apply), which keeps the other labels."})
	}
	merged := obj.GetLabels()
	if merged == nil {
		merged = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(l)) {
		merged[k] = l[k]
		n.rep.Carry(from, report.Target{Ref: resource.Ref{APIVersion: "v1", Kind: "Namespace", Name: ns},
			Path: fieldpath.Path{"metadata", "labels", k}.String()}, "")
	}
	obj.SetLabels(merged)
}
