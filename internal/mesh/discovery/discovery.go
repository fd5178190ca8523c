// Package discovery tells which namespaces the control plane of an Istio discovers
// (spec.values.meshConfig.discoverySelectors) and where two Istios discover the same namespaces although one of
// them asked for isolation by setting discoverySelectors.
package discovery

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// Scope is what one Istio's istiod discovers: the namespaces any of its discoverySelectors selects, or every
// namespace when it sets none.
type Scope struct {
	// Istio is the Istio's name.
	Istio string
	// Isolated tells that the Istio sets discoverySelectors: it asked to see only the namespaces they select.
	Isolated  bool
	selectors []labels.Selector
}

// ScopeOf returns the Istio's Scope. A selector that is not valid (istiod rejects it as well) selects nothing.
func ScopeOf(istio *sailv1.Istio) Scope {
	s := Scope{Istio: istio.Name}
	v := istio.Spec.Values
	if v == nil || v.MeshConfig == nil || len(v.MeshConfig.DiscoverySelectors) == 0 {
		return s
	}
	s.Isolated = true
	for _, ls := range v.MeshConfig.DiscoverySelectors {
		if sel, err := metav1.LabelSelectorAsSelector(toMeta(ls)); err == nil {
			s.selectors = append(s.selectors, sel)
		}
	}
	return s
}

// toMeta converts the values' copy of a label selector to Kubernetes' own type.
func toMeta(ls sailv1.LabelSelector) *metav1.LabelSelector {
	out := &metav1.LabelSelector{MatchLabels: ls.MatchLabels}
	for _, r := range ls.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, metav1.LabelSelectorRequirement{Key: r.Key,
			Operator: metav1.LabelSelectorOperator(r.Operator), Values: r.Values})
	}
	return out
}

// Discovers tells whether the scope includes a namespace with the given labels.
func (s Scope) Discovers(nsLabels map[string]string) bool {
	if !s.Isolated {
		return true
	}
	return slices.ContainsFunc(s.selectors, func(sel labels.Selector) bool { return sel.Matches(labels.Set(nsLabels)) })
}

// Overlap is another Istio whose istiod discovers some of the same namespaces as this one's.
type Overlap struct {
	// Istio names the other Istio; Isolated tells whether it sets discoverySelectors.
	Istio    string
	Isolated bool
	// Namespaces are the namespaces both discover, sorted.
	Namespaces []string
}

// Overlaps returns, for self, the Istios created before it (creationTimestamp, then name; Istios being deleted
// do not count) that discover some of the same existing namespaces, when self or that Istio asked for isolation
// (two Istios without discoverySelectors both see everything by choice). The older Istio is not told: its mesh
// was there first. namespaces are the namespaces of the cluster, by name with their labels.
func Overlaps(self *sailv1.Istio, istios []sailv1.Istio, namespaces map[string]map[string]string) []Overlap {
	mine := ScopeOf(self)
	var out []Overlap
	for i := range istios {
		other := &istios[i]
		if other.Name == self.Name || !other.DeletionTimestamp.IsZero() || !older(other, self) {
			continue
		}
		theirs := ScopeOf(other)
		if !mine.Isolated && !theirs.Isolated {
			continue
		}
		var shared []string
		for name, l := range namespaces {
			if mine.Discovers(l) && theirs.Discovers(l) {
				shared = append(shared, name)
			}
		}
		if len(shared) > 0 {
			slices.Sort(shared)
			out = append(out, Overlap{Istio: other.Name, Isolated: theirs.Isolated, Namespaces: shared})
		}
	}
	slices.SortFunc(out, func(a, b Overlap) int { return strings.Compare(a.Istio, b.Istio) })
	return out
}

// older tells whether a was created before b; in the same second (the resolution of timestamps) the smaller name.
func older(a, b *sailv1.Istio) bool {
	ta, tb := a.CreationTimestamp, b.CreationTimestamp
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	return a.Name < b.Name
}

// maxListed is how many namespaces a message names before it counts the rest.
const maxListed = 5

// Message says, for the newer Istio (self, with isolated telling whether it sets discoverySelectors), which older
// Istios discover the same namespaces, which namespaces, and what to change.
func Message(isolated bool, overlaps []Overlap) string {
	parts := make([]string, 0, len(overlaps))
	for _, o := range overlaps {
		how := "its discoverySelectors also select"
		if !o.Isolated {
			how = "it sets no discoverySelectors, so its istiod discovers every namespace, including"
		}
		parts = append(parts, fmt.Sprintf("Istio %s is older and %s %s", o.Istio, how, listNamespaces(o.Namespaces)))
	}
	fix := "Make the discoverySelectors of the Istios select disjoint namespaces (e.g. one label value per " +
		"tenant), or set discoverySelectors on the Istio that has none."
	if !isolated {
		fix = "This Istio sets no discoverySelectors and discovers every namespace, also those the other Istios " +
			"asked to keep to themselves: set spec.values.meshConfig.discoverySelectors that select only this " +
			"control plane's namespaces."
	}
	return strings.Join(parts, "; ") + ". Both control planes process these namespaces; this is reported, not " +
		"prevented. " + fix
}

// listNamespaces names the first maxListed namespaces and counts the others.
func listNamespaces(ns []string) string {
	word := "namespace"
	if len(ns) > 1 {
		word = "namespaces"
	}
	if len(ns) <= maxListed {
		return word + " " + strings.Join(ns, ", ")
	}
	return fmt.Sprintf("%s %s and %d more", word, strings.Join(ns[:maxListed], ", "), len(ns)-maxListed)
}

// Concerned returns the names of the Istios whose overlaps may change when a namespace with one of the label
// sets appears, goes, or changes between them: the Istios that discover it, when at least one Istio that sets
// discoverySelectors does (a namespace no isolated Istio discovers is in no overlap). Namespaces that concern no
// Istio cost no reconcile.
func Concerned(istios []sailv1.Istio, labelSets ...map[string]string) []string {
	var all []string
	isolated := false
	for i := range istios {
		s := ScopeOf(&istios[i])
		if slices.ContainsFunc(labelSets, s.Discovers) {
			all = append(all, s.Istio)
			isolated = isolated || s.Isolated
		}
	}
	if !isolated {
		return nil
	}
	return all
}

// SelectorsChanged tells whether two versions of an Istio discover differently.
func SelectorsChanged(before, after *sailv1.Istio) bool {
	sel := func(i *sailv1.Istio) []sailv1.LabelSelector {
		if i.Spec.Values == nil || i.Spec.Values.MeshConfig == nil {
			return nil
		}
		return i.Spec.Values.MeshConfig.DiscoverySelectors
	}
	return !equality.Semantic.DeepEqual(sel(before), sel(after))
}
