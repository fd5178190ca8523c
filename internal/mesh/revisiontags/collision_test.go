package revisiontags

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func declaring(name string, created time.Time, tags ...string) sailv1.IstioRevision {
	return sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec: sailv1.IstioRevisionSpec{Values: &sailv1.Values{RevisionTags: tags}}}
}

func ownedBy(rev sailv1.IstioRevision, istio string) sailv1.IstioRevision {
	yes := true
	rev.OwnerReferences = []metav1.OwnerReference{{APIVersion: sailv1.GroupVersion.String(), Kind: sailv1.IstioKind,
		Name: istio, Controller: &yes}}
	return rev
}

func TestValueHolder_IsTheNewestRevisionDeclaringTheTag(t *testing.T) {
	g := NewWithT(t)
	now := time.Now()
	all := []sailv1.IstioRevision{declaring("old", now, "prod"), declaring("new", now.Add(time.Minute), "prod", "qa"),
		declaring("none", now)}
	c := fake.NewClientBuilder().Build()
	for tag, want := range map[string]string{"prod": "new", "qa": "new"} {
		got, err := ValueHolder(context.Background(), c, tag, all)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got.Revision.Name).To(Equal(want))
	}
	g.Expect(ValueHolder(context.Background(), c, "other", all)).To(BeNil())
}

func TestValueClaims_TheOlderIstioWinsOverItsRevisionsAge(t *testing.T) {
	g := NewWithT(t)
	s := runtime.NewScheme()
	g.Expect(sailv1.AddToScheme(s)).To(Succeed())
	now := time.Now().Truncate(time.Second)
	older := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "tenant-b", CreationTimestamp: metav1.NewTime(now)}}
	newer := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "tenant-a", CreationTimestamp: metav1.NewTime(now.Add(time.Hour))}}
	sameSecond := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "tenant-c", CreationTimestamp: metav1.NewTime(now)}}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(older, newer, sameSecond).Build()
	// tenant-b upgraded (RevisionBased) after tenant-a was created: its new revision is the newest of all, its
	// claim is still the older one.
	all := []sailv1.IstioRevision{ownedBy(declaring("tenant-a", now.Add(time.Hour), "prod"), "tenant-a"),
		ownedBy(declaring("tenant-b-v1", now, "prod"), "tenant-b"),
		ownedBy(declaring("tenant-b-v2", now.Add(2*time.Hour), "prod"), "tenant-b"),
		ownedBy(declaring("tenant-c", now, "prod"), "tenant-c")}
	claims, err := ValueClaims(context.Background(), c, "prod", all)
	g.Expect(err).NotTo(HaveOccurred())
	var got []string
	for _, cl := range claims {
		got = append(got, Describe(cl.Claimant)+"/"+cl.Revision.Name)
	}
	g.Expect(got).To(Equal([]string{"Istio tenant-b/tenant-b-v2", "Istio tenant-c/tenant-c", "Istio tenant-a/tenant-a"}),
		"oldest Istio first, a tie goes to the smaller name; within an Istio the newest revision holds the tag")
}

func TestValueClaimWins_OlderClaimWinsAndTheValuesWinATie(t *testing.T) {
	g := NewWithT(t)
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	later := metav1.NewTime(now.Add(time.Second))
	claim := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "a", CreationTimestamp: now}}
	g.Expect(ValueClaimWins(claim, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: later}})).To(BeTrue())
	g.Expect(ValueClaimWins(claim, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: now}})).To(BeTrue())
	claim.CreationTimestamp = later
	g.Expect(ValueClaimWins(claim, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: now}})).To(BeFalse())
}

func TestClaimant_IsTheControllingIstioElseTheRevision(t *testing.T) {
	g := NewWithT(t)
	s := runtime.NewScheme()
	g.Expect(sailv1.AddToScheme(s)).To(Succeed())
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "tenant-a", UID: "u1"}}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(istio).Build()
	rev := declaring("tenant-a-v1-31-0", time.Now(), "prod")
	yes := true
	rev.OwnerReferences = []metav1.OwnerReference{{APIVersion: sailv1.GroupVersion.String(), Kind: sailv1.IstioKind,
		Name: "tenant-a", UID: "u1", Controller: &yes}}
	got, err := Claimant(context.Background(), c, &rev)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(Describe(got)).To(Equal("Istio tenant-a"))
	rev.OwnerReferences = nil
	got, err = Claimant(context.Background(), c, &rev)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(Describe(got)).To(Equal("IstioRevision tenant-a-v1-31-0"))
}
