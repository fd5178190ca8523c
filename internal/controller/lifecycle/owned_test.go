package lifecycle

import (
	"reflect"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

func kindNames(objs []client.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, reflect.TypeOf(o).Elem().Name())
	}
	return out
}

// TestOwnedTypes_WatchEveryKindTheChartsRender checks that each chart controller watches every kind its chart
// renders in any supported version, optional ones included: only NetworkAttachmentDefinition (a Multus CRD
// outside the scheme) is left unwatched, and Istio's CRDs, which the CRD installer handles.
func TestOwnedTypes_WatchEveryKindTheChartsRender(t *testing.T) {
	scheme := runtime.NewScheme()
	NewWithT(t).Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	cases := map[string]struct {
		charts    []string
		skip      []string
		want      []string
		unwatched []string
	}{
		"istiod and base": {[]string{versions.ChartIstiod, versions.ChartBase}, []string{"CustomResourceDefinition"},
			[]string{"NetworkPolicy", "EndpointSlice", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
				"Deployment", "Service", "ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding", "Role",
				"RoleBinding", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "PodDisruptionBudget",
				"HorizontalPodAutoscaler"}, nil},
		"cni": {[]string{versions.ChartCNI}, nil, []string{"DaemonSet", "ServiceAccount", "ConfigMap", "ClusterRole",
			"ClusterRoleBinding", "NetworkPolicy", "ResourceQuota"}, []string{"NetworkAttachmentDefinition"}},
		"ztunnel": {[]string{versions.ChartZTunnel}, nil, []string{"DaemonSet", "ServiceAccount", "ClusterRole",
			"ClusterRoleBinding", "NetworkPolicy", "ResourceQuota"}, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			owned, unwatched := OwnedTypes(scheme, versions.Default(), tc.charts, tc.skip...)
			g.Expect(kindNames(owned)).To(ConsistOf(tc.want))
			g.Expect(unwatched).To(ConsistOf(tc.unwatched))
		})
	}
}

func TestTemplateKinds(t *testing.T) {
	g := NewWithT(t)
	tpl := "{{- if .Values.x }}\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nspec:\n  kind: Nested\n" +
		"---\napiVersion: {{ .Values.v }}\nkind: Templated\n---\napiVersion: v1\nmetadata:\n  name: a\nkind: \"ConfigMap\"\n" +
		"---\nkind: DaemonSet\napiVersion: apps/v1\n{{- end }}\n"
	got := templateKinds([]byte(tpl))
	var names []string
	for _, gvk := range got {
		names = append(names, gvk.String())
	}
	g.Expect(names).To(Equal([]string{"networking.k8s.io/v1, Kind=NetworkPolicy", "/v1, Kind=ConfigMap",
		"apps/v1, Kind=DaemonSet"}), "nested and templated fields are no kinds; kind may come first")
}
