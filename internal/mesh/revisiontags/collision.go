package revisiontags

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/revision"
)

// ValueClaim is one Istio's claim on a tag name through spec.values.revisionTags: the revision that holds the tag
// within its Istio (revision.ValueTags) and the Claimant whose age the claim has.
type ValueClaim struct {
	Revision *sailv1.IstioRevision
	Claimant client.Object
}

// ValueClaims returns the claims on the tag name through spec.values.revisionTags, oldest first (Older): one per
// Istio (revision.ClaimGroup) whose revisions declare it. Each revision's chart renders an injection webhook and
// Service for the tag (istio-revision-tag-<name>, suffixed with the namespace outside istio-system): all of them
// would select the same namespaces and pods (istio.io/rev=<name>), so only the first claim may install it.
// Revisions being deleted claim nothing.
func ValueClaims(ctx context.Context, reader client.Reader, name string, all []sailv1.IstioRevision) ([]ValueClaim, error) {
	var claims []ValueClaim
	for i := range all {
		if !all[i].DeletionTimestamp.IsZero() || !slices.Contains(revision.ValueTags(&all[i], all), name) {
			continue
		}
		claimant, err := Claimant(ctx, reader, &all[i])
		if err != nil {
			return nil, fmt.Errorf("reading the Istio of IstioRevision %s to tell whose claim on tag %s is older: %w",
				all[i].Name, name, err)
		}
		claims = append(claims, ValueClaim{Revision: &all[i], Claimant: claimant})
	}
	slices.SortFunc(claims, func(a, b ValueClaim) int {
		if Older(a.Claimant, b.Claimant) {
			return -1
		}
		if Older(b.Claimant, a.Claimant) {
			return 1
		}
		return 0
	})
	return claims, nil
}

// ValueHolder returns the winning claim on the tag name through spec.values.revisionTags (the first of
// ValueClaims), nil when no revision declares it.
func ValueHolder(ctx context.Context, reader client.Reader, name string, all []sailv1.IstioRevision) (*ValueClaim, error) {
	claims, err := ValueClaims(ctx, reader, name, all)
	if err != nil || len(claims) == 0 {
		return nil, err
	}
	return &claims[0], nil
}

// Older tells whether a was created before b; in the same second (timestamps have a resolution of one second)
// the smaller name is older, then the smaller kind.
func Older(a, b client.Object) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	if a.GetName() != b.GetName() {
		return a.GetName() < b.GetName()
	}
	return Describe(a) < Describe(b)
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

// ValuesCollisionMessage says, for the Istio (or revision) whose spec.values.revisionTags claim on tag name is
// newer than winner's, which claim keeps the tag and what to change.
func ValuesCollisionMessage(name string, winner client.Object) string {
	return fmt.Sprintf("%s is older and also declares the tag %q in spec.values.revisionTags; both would select "+
		"the same namespaces and pods (istio.io/rev=%s), so this control plane's webhook for the tag is not "+
		"installed. Remove %q from the spec.values.revisionTags of this resource or of %s, or rename it in one "+
		"of them.", Describe(winner), name, name, name, Describe(winner))
}
