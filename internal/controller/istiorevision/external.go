package istiorevision

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/status"
	"github.com/sail-mesh/sail/internal/pipeline/values"
)

// An external istiod (values.global.externalIstiod) runs here but reads its configuration from its config
// cluster, through the kubeconfig in the Secret values.ConfigClusterSecret that the istiod chart mounts at
// KUBECONFIG. What Sail does differently for its revision:
//   - no base chart (its default validating webhook and reader identity would serve this cluster's Istio config,
//     which this istiod never reads) and no Istio CRDs here (the config cluster's Istio installs them there);
//     the istiod chart's webhooks are turned off by values.ForRevision;
//   - the Secret's volume is required: the chart marks it optional, and an istiod started without it falls back
//     to the cluster it runs in, where it would act as a primary of a mesh nobody asked for. The kubelet starts
//     the pod only once the Secret exists;
//   - its Ready condition, while istiod is not ready, says which Secret it waits for and how to make it.

// requireConfigClusterSecret makes the istiod Deployment's volume of the config cluster Secret non-optional.
func requireConfigClusterSecret(objs []*unstructured.Unstructured) {
	for _, u := range objs {
		if u.GetKind() != "Deployment" {
			continue
		}
		volumes, found, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "volumes")
		if !found {
			continue
		}
		for _, v := range volumes {
			vm, _ := v.(map[string]any)
			secret, _ := vm["secret"].(map[string]any)
			if secret != nil && secret["secretName"] == values.ConfigClusterSecret {
				secret["optional"] = false
			}
		}
		_ = unstructured.SetNestedSlice(u.Object, volumes, "spec", "template", "spec", "volumes")
	}
}

// externalCRDsMessage is the IstioCRDs message of an external istiod's revision.
const externalCRDsMessage = "Istio's CRDs are not installed in this cluster: this istiod reads Istio's " +
	"configuration from its config cluster (values.global.externalIstiod), whose Istio (profile remote, " +
	"global.configCluster) installs them there"

// setExternalConditions sets IstioCRDs of an external istiod's revision and, while it is not Ready, adds to the
// Ready message what istiod needs to start.
func setExternalConditions(rev *sailv1.IstioRevision) {
	status.Set(&rev.Status.Conditions, rev.Generation, sailv1.ConditionIstioCRDs, metav1.ConditionTrue,
		sailv1.ReasonCRDsNotNeeded, externalCRDsMessage)
	ready := meta.FindStatusCondition(rev.Status.Conditions, sailv1.ConditionReady)
	if ready == nil || ready.Status == metav1.ConditionTrue {
		return
	}
	ready.Message += fmt.Sprintf("; an external istiod starts only once the Secret %s/%s exists (the "+
		"kubeconfig of its config cluster, key %q): create it with `sailctl create-remote-secret --type config "+
		"--context CONFIG_CLUSTER -n %s | kubectl apply -f -`", rev.Spec.Namespace, values.ConfigClusterSecret,
		values.ConfigClusterSecretKey, rev.Spec.Namespace)
}
