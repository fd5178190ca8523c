package revisiontags

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/revision"
)

// ValueHolder returns the IstioRevision whose spec.values.revisionTags holds the tag name (revision.ValueTags:
// of several revisions declaring it, the newest), nil when none does. Such a revision's chart renders the same
// injection webhook and Service (istio-revision-tag-<name>) as an IstioRevisionTag of that name: both would
// select the same namespaces and pods, so only one of them may install it.
func ValueHolder(name string, all []sailv1.IstioRevision) *sailv1.IstioRevision {
	for i := range all {
		for _, t := range revision.ValueTags(&all[i], all) {
			if t == name {
				return &all[i]
			}
		}
	}
	return nil
}

// Claimant returns the resource whose age the revision's claim on a tag of its values has: the Istio that
// controls the revision (its values carry over from revision to revision, so a RevisionBased upgrade does not
// make the claim newer), or the revision itself when no Istio controls it or that Istio is gone.
func Claimant(ctx context.Context, reader client.Reader, rev *sailv1.IstioRevision) (client.Object, error) {
	ref := metav1.GetControllerOf(rev)
	if ref == nil || ref.Kind != sailv1.IstioKind {
		return rev, nil
	}
	istio := &sailv1.Istio{}
	if err := reader.Get(ctx, client.ObjectKey{Name: ref.Name}, istio); err != nil {
		return rev, client.IgnoreNotFound(err)
	}
	return istio, nil
}

// ValueClaimWins tells whether a claim on a tag name through spec.values.revisionTags (claimant, see Claimant)
// wins over an IstioRevisionTag of that name: the older claim wins, the values claim a tie (creation timestamps
// have a resolution of one second). Both the IstioRevision and the IstioRevisionTag controller use this rule.
func ValueClaimWins(claimant, tag metav1.Object) bool {
	cc, tc := claimant.GetCreationTimestamp(), tag.GetCreationTimestamp()
	return !tc.Before(&cc)
}

// Describe names a claimant for messages, e.g. "Istio tenant-a" or "IstioRevision canary".
func Describe(o client.Object) string {
	if _, ok := o.(*sailv1.Istio); ok {
		return sailv1.IstioKind + " " + o.GetName()
	}
	return sailv1.IstioRevisionKind + " " + o.GetName()
}

// CollisionMessage says, for the losing side, which claim on tag name keeps it and what to change.
func CollisionMessage(name string, winner client.Object, tagWins bool) string {
	if tagWins {
		return fmt.Sprintf("IstioRevisionTag %s is older and selects the same namespaces and pods (istio.io/rev=%s); "+
			"the tag %q of spec.values.revisionTags is not installed. Remove it from the values, or delete the "+
			"IstioRevisionTag.", name, name, name)
	}
	return fmt.Sprintf("%s is older and declares the tag %q in spec.values.revisionTags, which selects the same "+
		"namespaces and pods (istio.io/rev=%s); this tag's webhook is not installed. Rename the tag, or remove %q "+
		"from the values of %s.", Describe(winner), name, name, name, Describe(winner))
}
