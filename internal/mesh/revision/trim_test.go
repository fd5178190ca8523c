package revision

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestTrimPod_KeepsOnlyWhatUsageNeeds(t *testing.T) {
	g := NewWithT(t)
	now := metav1.Now()
	full := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "n", UID: "u", ResourceVersion: "7", DeletionTimestamp: &now,
			Labels: map[string]string{"app": "big", "pod-template-hash": "x", "istio.io/rev": "r", "sidecar.istio.io/inject": "true",
				"gateway.istio.io/managed": "istio.io-mesh-controller", "sailoperator.io/workload-migration": "disabled"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}", "istio.io/rev": "r",
				"sidecar.istio.io/status": "{...}", "sidecar.istio.io/inject": "false"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
			Finalizers:    []string{"f"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Other", Name: "o"},
				{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "rsu", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	in := PodMetadata()
	in.ObjectMeta = *full.ObjectMeta.DeepCopy()
	out, err := TrimPod(in)
	g.Expect(err).NotTo(HaveOccurred())
	want := PodMetadata()
	want.ObjectMeta = metav1.ObjectMeta{Name: "p", Namespace: "n", UID: "u", ResourceVersion: "7", DeletionTimestamp: &now,
		Labels: map[string]string{"istio.io/rev": "r", "sidecar.istio.io/inject": "true",
			"gateway.istio.io/managed": "istio.io-mesh-controller", "sailoperator.io/workload-migration": "disabled"},
		Annotations:     map[string]string{"istio.io/rev": "r", "sidecar.istio.io/inject": "false"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "rsu", Controller: ptr.To(true)}}}
	g.Expect(out).To(Equal(want), "only what RevisionOfPod and workload planning read is kept")
	g.Expect(RevisionOfPod(out.(*metav1.PartialObjectMetadata))).To(Equal(PodRevision(full)),
		"trimming does not change the revision a pod uses")

	bare := PodMetadata()
	bare.ObjectMeta = metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "x"}}
	trimmed, _ := TrimPod(bare)
	g.Expect(trimmed.(*metav1.PartialObjectMetadata).Labels).To(BeNil(), "a pod with nothing to keep keeps no map")
}

func TestTrimNamespace_KeepsLabelsOnly(t *testing.T) {
	g := NewWithT(t)
	in := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "ns", UID: "u", ResourceVersion: "3",
		Labels: map[string]string{"kubernetes.io/metadata.name": "ns", "istio.io/rev": "r", "istio-injection": "enabled",
			"sailoperator.io/workload-migration": "disabled", "team": "a"},
		Annotations:   map[string]string{"openshift.io/sa.scc.uid-range": "1/2"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	out, err := TrimNamespace(in)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "ns", UID: "u", ResourceVersion: "3",
		Labels: map[string]string{"kubernetes.io/metadata.name": "ns", "istio.io/rev": "r", "istio-injection": "enabled",
			"sailoperator.io/workload-migration": "disabled", "team": "a"}}}), "discoverySelectors may select any label")
}
