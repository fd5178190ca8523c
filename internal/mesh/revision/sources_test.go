package revision

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func revWithTags(name string, created time.Time, tags ...string) sailv1.IstioRevision {
	return sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec: sailv1.IstioRevisionSpec{Values: &sailv1.Values{RevisionTags: tags}}}
}

func ownedBy(rev sailv1.IstioRevision, istio string) sailv1.IstioRevision {
	yes := true
	rev.OwnerReferences = []metav1.OwnerReference{{Kind: sailv1.IstioKind, Name: istio, Controller: &yes}}
	return rev
}

func TestValueTags(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	old := revWithTags("mesh-v1-30-0", now, "prod", "canary")
	newer := revWithTags("mesh-v1-31-0", now.Add(time.Minute), "prod")
	other := revWithTags("other", now.Add(time.Hour))
	cases := map[string]struct {
		rev  sailv1.IstioRevision
		all  []sailv1.IstioRevision
		want []string
	}{
		"a revision holds the tags its values declare":                {old, []sailv1.IstioRevision{old, other}, []string{"prod", "canary"}},
		"a tag also declared by a newer revision moves to it":         {old, []sailv1.IstioRevision{old, newer}, []string{"canary"}},
		"the newer revision holds the tag both declare":               {newer, []sailv1.IstioRevision{old, newer}, []string{"prod"}},
		"revisions created in the same second: the greater name wins": {revWithTags("a", now, "t"), []sailv1.IstioRevision{revWithTags("b", now, "t")}, nil},
		"a revision without values declares nothing":                  {sailv1.IstioRevision{}, []sailv1.IstioRevision{old}, nil},
		"revisions of different Istios each hold the tag":             {ownedBy(old, "a"), []sailv1.IstioRevision{ownedBy(newer, "b")}, []string{"prod", "canary"}},
		"revisions of the same Istio pass the tag on":                 {ownedBy(old, "a"), []sailv1.IstioRevision{ownedBy(newer, "a")}, []string{"canary"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { NewWithT(t).Expect(ValueTags(&tc.rev, tc.all)).To(Equal(tc.want)) })
	}
}

func TestZTunnelTarget(t *testing.T) {
	g := NewWithT(t)
	zt := func(ref *sailv1.ZTunnelTargetRef) *sailv1.ZTunnel {
		return &sailv1.ZTunnel{Spec: sailv1.ZTunnelSpec{TargetRef: ref}}
	}
	g.Expect(ZTunnelTarget(zt(&sailv1.ZTunnelTargetRef{Kind: sailv1.IstioRevisionKind, Name: "r"}))).To(Equal("r"))
	g.Expect(ZTunnelTarget(zt(&sailv1.ZTunnelTargetRef{Kind: sailv1.IstioKind, Name: "r"}))).To(BeEmpty(), "an Istio's active revision is never pruned")
	g.Expect(ZTunnelTarget(zt(nil))).To(BeEmpty())
}

func TestUsage_String(t *testing.T) {
	cases := map[string]struct {
		usage Usage
		want  string
	}{
		"namespaces and pods":  {Usage{Namespaces: 2, Pods: 3}, "Namespaces select this revision and pods use it"},
		"pods only":            {Usage{Pods: 1}, "Pods use this revision"},
		"the ZTunnel only":     {Usage{ZTunnel: true}, "The ZTunnel targets this revision"},
		"pods and the ZTunnel": {Usage{Pods: 1, ZTunnel: true}, "Pods use this revision and the ZTunnel targets it"},
		"nothing":              {Usage{}, "Nothing uses this revision"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tc.usage.String()).To(Equal(tc.want))
			g.Expect(tc.usage.InUse()).To(Equal(tc.usage != Usage{}))
		})
	}
}
