package revision

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// IndexValueTag indexes IstioRevisions by the tags their spec.values.revisionTags declare.
const IndexValueTag = "sail.revision.valuetag"

// IndexValueTags is the cache index function of IndexValueTag.
func IndexValueTags(o client.Object) []string {
	if rev, ok := o.(*sailv1.IstioRevision); ok {
		return declaredTags(rev)
	}
	return nil
}

func declaredTags(rev *sailv1.IstioRevision) []string {
	if rev.Spec.Values == nil {
		return nil
	}
	return rev.Spec.Values.RevisionTags
}

// ValueTags returns the tags a revision's spec.values.revisionTags declare that it holds within its Istio: the
// chart renders an injection webhook for each, so namespaces and pods that select one use the revision. When
// several revisions of the same Istio declare the same tag (an Istio's values carry over to its new revision on a
// RevisionBased upgrade), the one created last holds it (a tie goes to the greater name): the tag moves to the new
// revision with the values. Revisions of different Istios (ClaimGroup) each hold the tag here; which of those
// claims wins is decided by the age of the Istios (revisiontags.ValueClaims). all lists every IstioRevision, rev
// included or not.
func ValueTags(rev *sailv1.IstioRevision, all []sailv1.IstioRevision) []string {
	var held []string
	group := ClaimGroup(rev)
	for _, tag := range declaredTags(rev) {
		if !slices.ContainsFunc(all, func(other sailv1.IstioRevision) bool {
			return other.Name != rev.Name && ClaimGroup(&other) == group &&
				slices.Contains(declaredTags(&other), tag) && newer(&other, rev)
		}) {
			held = append(held, tag)
		}
	}
	return held
}

// ClaimGroup returns the name of the Istio that controls the revision ("" for revisions no Istio controls, which
// form one group): the revisions of one group pass their value tags on to each other.
func ClaimGroup(rev *sailv1.IstioRevision) string {
	if ref := metav1.GetControllerOf(rev); ref != nil && ref.Kind == sailv1.IstioKind {
		return ref.Name
	}
	return ""
}

// newer tells whether a was created after b (the greater name wins a tie: timestamps have one-second resolution).
func newer(a, b *sailv1.IstioRevision) bool {
	ta, tb := a.CreationTimestamp, b.CreationTimestamp
	if !ta.Equal(&tb) {
		return tb.Before(&ta)
	}
	return a.Name > b.Name
}

// ZTunnelTarget returns the IstioRevision a ZTunnel's targetRef names; "" when it names an Istio (whose active
// revision is never pruned) or nothing.
func ZTunnelTarget(zt *sailv1.ZTunnel) string {
	if ref := zt.Spec.TargetRef; ref != nil && ref.Kind == sailv1.IstioRevisionKind {
		return ref.Name
	}
	return ""
}

// ZTunnelTargets tells, from the cache, whether the ZTunnel's targetRef names the IstioRevision called name.
func ZTunnelTargets(ctx context.Context, reader client.Reader, name string) (bool, error) {
	list := &sailv1.ZTunnelList{}
	if err := reader.List(ctx, list); err != nil {
		return false, fmt.Errorf("listing ZTunnels to tell whether one targets revision %s: %w", name, err)
	}
	return slices.ContainsFunc(list.Items, func(zt sailv1.ZTunnel) bool { return ZTunnelTarget(&zt) == name }), nil
}
