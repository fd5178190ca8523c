package discovery

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

var t0 = time.Now().Truncate(time.Second)

// istio returns an Istio created age seconds after t0; with selectors nil it sets no discoverySelectors.
func istio(name string, age int, selectors ...sailv1.LabelSelector) sailv1.Istio {
	i := sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Second))}}
	if selectors != nil {
		i.Spec.Values = &sailv1.Values{MeshConfig: &sailv1.MeshConfig{DiscoverySelectors: selectors}}
	}
	return i
}

func tenant(v string) sailv1.LabelSelector {
	return sailv1.LabelSelector{MatchLabels: map[string]string{"tenant": v}}
}

var namespaces = map[string]map[string]string{
	"shop-a": {"tenant": "a"}, "shop-b": {"tenant": "b"}, "shared": {"tenant": "a", "shared": "yes"},
	"plain": nil,
}

func TestOverlaps(t *testing.T) {
	sharedSel := sailv1.LabelSelector{MatchExpressions: []sailv1.LabelSelectorRequirement{{Key: "shared", Operator: "Exists"}}}
	cases := map[string]struct {
		self   sailv1.Istio
		others []sailv1.Istio
		want   []Overlap
	}{
		"disjoint selectors do not overlap": {istio("b", 1, tenant("b")), []sailv1.Istio{istio("a", 0, tenant("a"))}, nil},
		"selectors that both select an existing namespace overlap there": {istio("b", 1, tenant("b"), sharedSel),
			[]sailv1.Istio{istio("a", 0, tenant("a"))}, []Overlap{{Istio: "a", Isolated: true, Namespaces: []string{"shared"}}}},
		"the older Istio is not told": {istio("a", 0, tenant("a")), []sailv1.Istio{istio("b", 1, tenant("b"), sharedSel)}, nil},
		"in the same second the greater name is the newer": {istio("b", 0, sharedSel),
			[]sailv1.Istio{istio("a", 0, tenant("a"))}, []Overlap{{Istio: "a", Isolated: true, Namespaces: []string{"shared"}}}},
		"selectors that could overlap but select no common namespace do not": {istio("b", 1, sailv1.LabelSelector{
			MatchLabels: map[string]string{"tenant": "b", "shared": "yes"}}), []sailv1.Istio{istio("a", 0, tenant("b"))}, nil},
		"an Istio without selectors overlaps with every namespace an older isolated one discovers": {istio("b", 1),
			[]sailv1.Istio{istio("a", 0, tenant("a"))}, []Overlap{{Istio: "a", Isolated: true, Namespaces: []string{"shared", "shop-a"}}}},
		"an older Istio without selectors overlaps with all an isolated one discovers": {istio("b", 1, tenant("b")),
			[]sailv1.Istio{istio("a", 0)}, []Overlap{{Istio: "a", Namespaces: []string{"shop-b"}}}},
		"two Istios without selectors asked for no isolation": {istio("b", 1), []sailv1.Istio{istio("a", 0)}, nil},
		"an Istio being deleted does not count":               {istio("b", 1), []sailv1.Istio{deleting(istio("a", 0, tenant("a")))}, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(Overlaps(&tc.self, append(tc.others, tc.self), namespaces)).To(Equal(tc.want))
		})
	}
}

func deleting(i sailv1.Istio) sailv1.Istio {
	now := metav1.Now()
	i.DeletionTimestamp = &now
	return i
}

func TestConcerned_OnlyNamespacesAnIsolatedIstioDiscovers(t *testing.T) {
	g := NewWithT(t)
	istios := []sailv1.Istio{istio("a", 0, tenant("a")), istio("everything", 1), istio("b", 2, tenant("b"))}
	g.Expect(Concerned(istios, map[string]string{"tenant": "a"})).To(Equal([]string{"a", "everything"}))
	g.Expect(Concerned(istios, map[string]string{"other": "x"})).To(BeNil(), "only the Istio without selectors sees it")
	g.Expect(Concerned(istios, map[string]string{"tenant": "a"}, map[string]string{"tenant": "b"})).To(Equal([]string{"a", "everything", "b"}))
	g.Expect(Concerned([]sailv1.Istio{istio("everything", 1)}, nil)).To(BeNil())
}

func TestMessage_NamesTheOtherIstioAndTheNamespaces(t *testing.T) {
	g := NewWithT(t)
	msg := Message(true, []Overlap{{Istio: "a", Isolated: true, Namespaces: []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7"}}})
	g.Expect(msg).To(ContainSubstring("Istio a is older and its discoverySelectors also select namespaces n1, n2, n3, n4, n5 and 2 more."))
	g.Expect(Message(false, []Overlap{{Istio: "a", Isolated: true, Namespaces: []string{"n1"}}})).
		To(ContainSubstring("set spec.values.meshConfig.discoverySelectors"))
}
