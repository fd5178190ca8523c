package revision

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What the operator's cache keeps of every pod and namespace in the cluster: the labels and annotations that
// usage tracking and workload migration read. Everything else is dropped as objects enter the cache, so its size
// grows with the number of pods and namespaces, not with what they carry.
var (
	// KeptPodLabels are the pod labels PodRevision and workload planning read.
	KeptPodLabels = []string{LabelRev, LabelSidecarInject, LabelGatewayManaged, LabelMigrationOptOut}
	// KeptPodAnnotations are the pod annotations PodRevision and workload planning read.
	KeptPodAnnotations = []string{LabelRev, LabelSidecarInject}
)

// LabelTopologyNetwork, on istiod's namespace, names the network of the cluster's endpoints (Istio's
// topology.istio.io/network).
const LabelTopologyNetwork = "topology.istio.io/network"

// TrimPod is the cache transform of pods (metadata only: the cache lists and watches pods as
// PartialObjectMetadata, and only those not yet Succeeded or Failed, see PodMetadata): it keeps the name,
// namespace, UID, resource version, deletion timestamp, the kept labels and annotations and the controller owner
// reference.
func TrimPod(obj any) (any, error) {
	pod, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID,
			ResourceVersion: pod.ResourceVersion, DeletionTimestamp: pod.DeletionTimestamp,
			Labels: keep(pod.Labels, KeptPodLabels), Annotations: keep(pod.Annotations, KeptPodAnnotations),
			OwnerReferences: controllerRef(pod.OwnerReferences)},
	}, nil
}

// PodMetadata returns an empty metadata-only pod, the type under which the operator's cache keeps pods.
func PodMetadata() *metav1.PartialObjectMetadata {
	pod := &metav1.PartialObjectMetadata{}
	pod.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
	return pod
}

// RunningPods is the field selector of the pods the operator's cache keeps: a pod that has completed uses no
// revision, and the API server reports it deleted from the watch when it completes.
const RunningPods = "status.phase!=Succeeded,status.phase!=Failed"

// TrimNamespace is the cache transform of namespaces (metadata only): it keeps the name, UID, resource version,
// deletion timestamp and all labels (besides the revision labels NamespaceRevision and workload migration read,
// an Istio's discoverySelectors may select any label; see package discovery), and drops annotations and
// managedFields.
func TrimNamespace(obj any) (any, error) {
	ns, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta: ns.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: ns.Name, UID: ns.UID, ResourceVersion: ns.ResourceVersion,
			DeletionTimestamp: ns.DeletionTimestamp, Labels: ns.Labels},
	}, nil
}

// keep returns the entries of m under keys, nil when there are none.
func keep(m map[string]string, keys []string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if out == nil {
				out = make(map[string]string, len(keys))
			}
			out[k] = v
		}
	}
	return out
}

// controllerRef returns the controller owner reference alone, without what usage does not read.
func controllerRef(refs []metav1.OwnerReference) []metav1.OwnerReference {
	for _, ref := range refs {
		if ref.Controller != nil && *ref.Controller {
			return []metav1.OwnerReference{{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID,
				Controller: ref.Controller}}
		}
	}
	return nil
}
