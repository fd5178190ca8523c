package workloads

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/revision"
)

// oldPod is a running pod of revision old owned by ReplicaSet rs (UID rs) of Deployment d.
func oldPod(name, rs string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, Labels: map[string]string{"istio.io/rev": "old"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: types.UID(rs), Controller: ptr.To(true)}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

func replicaSet(name string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, UID: types.UID(name),
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "d-" + name, UID: "d", Controller: ptr.To(true)}}}}
}

// TestMigrator_ForgetsReplicaSetsWhosePodsAreGone checks that the ReplicaSet -> Deployment memory holds only the
// ReplicaSets of the pods still on an old revision: it shrinks as their pods go and is empty once none is left.
func TestMigrator_ForgetsReplicaSetsWhosePodsAreGone(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	scheme := runtime.NewScheme()
	g.Expect(corev1.AddToScheme(scheme)).To(Succeed())
	g.Expect(appsv1.AddToScheme(scheme)).To(Succeed())
	g.Expect(sailv1.AddToScheme(scheme)).To(Succeed())
	c := fake.NewClientBuilder().WithScheme(scheme).WithIndex(&corev1.Pod{}, revision.IndexPodRevision, revision.IndexPod).
		WithObjects(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: map[string]string{"istio.io/rev": "new"}}}, replicaSet("a"), replicaSet("b"),
			oldPod("a-1", "a"), oldPod("b-1", "b")).Build()
	m := &Migrator{Client: c, APIReader: c}

	plan, err := m.plan(ctx, "new", []string{"old"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(plan.Workloads).To(HaveLen(2))
	g.Expect(m.RememberedReplicaSets()).To(Equal(2))

	g.Expect(c.Delete(ctx, oldPod("a-1", "a"))).To(Succeed())
	_, err = m.plan(ctx, "new", []string{"old"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.RememberedReplicaSets()).To(Equal(1), "the ReplicaSet whose pod is gone is forgotten")

	g.Expect(c.Delete(ctx, oldPod("b-1", "b"))).To(Succeed())
	_, err = m.plan(ctx, "new", []string{"old"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.RememberedReplicaSets()).To(BeZero(), "nothing is remembered once no pod runs an old revision")
}
