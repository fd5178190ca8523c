package readiness

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func TestCheck(t *testing.T) {
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	// A cached Deployment at generation 1 that has fully rolled out.
	live := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "istiod", Generation: 1},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: "True"},
				{Type: appsv1.DeploymentProgressing, Status: "True", Reason: "NewReplicaSetAvailable"}}}}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(live).Build()
	want := &unstructured.Unstructured{}
	want.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	want.SetNamespace("ns")
	want.SetName("istiod")
	objs := []*unstructured.Unstructured{want}
	ctx := context.Background()

	ready, msg, err := Check(ctx, reader, scheme, objs, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ready).To(BeTrue(), msg)

	ready, _, err = Check(ctx, reader, scheme, objs, func(*unstructured.Unstructured) int64 { return 1 })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ready).To(BeTrue(), "the cache has the applied generation")

	ready, msg, err = Check(ctx, reader, scheme, objs, func(*unstructured.Unstructured) int64 { return 2 })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ready).To(BeFalse(), "the cached copy predates the last apply")
	g.Expect(msg).To(Equal("Deployment ns/istiod is not ready: its new spec is not rolled out yet"))

	missing := want.DeepCopy()
	missing.SetName("gone")
	ready, msg, err = Check(ctx, reader, scheme, []*unstructured.Unstructured{missing}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ready).To(BeFalse())
	g.Expect(msg).To(ContainSubstring("does not exist yet"))
}
