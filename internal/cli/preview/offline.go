package preview

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/operator"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

// clusterScoped are the kinds of the operator's scheme that are not namespaced (Sail's kinds all are not).
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true, "CustomResourceDefinition": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true, "PriorityClass": true,
	"StorageClass": true, "CSIDriver": true, "CSINode": true, "RuntimeClass": true, "IngressClass": true,
	"APIService": true, "CertificateSigningRequest": true, "VolumeAttachment": true,
}

// OfflineApplier returns an applier that only prepares objects, telling their scope from the operator's scheme
// without an API server. Applying with it fails.
func OfflineApplier(scheme *runtime.Scheme) *apply.Applier {
	mapper := meta.NewDefaultRESTMapper(nil)
	for gvk := range scheme.AllKnownTypes() {
		scope := meta.RESTScopeNamespace
		if clusterScoped[gvk.Kind] || gvk.Group == sailv1.GroupVersion.Group {
			scope = meta.RESTScopeRoot
		}
		mapper.Add(gvk, scope)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithRESTMapper(mapper).Build()
	return apply.NewApplier(c, c, scheme, operator.FieldManager)
}
