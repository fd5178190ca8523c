package realistiod

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

// tenantIstio is an InPlace Istio (its revision has its name) in namespace, discovering only the namespaces
// labelled tenant=<tenant>.
func tenantIstio(name, namespace, tenant string) *sailv1.Istio {
	return &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: sailv1.IstioSpec{Version: "v1.31.0",
		Namespace: namespace, Values: &sailv1.Values{MeshConfig: &sailv1.MeshConfig{
			DiscoverySelectors: []sailv1.LabelSelector{{MatchLabels: map[string]string{"tenant": tenant}}}}}}}
}

// tenantService is a ClusterIP Service named name in namespace.
func tenantService(namespace, name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
}

// TestRealIstiod_MultiTenant runs two control planes, each with discoverySelectors for its tenant's namespaces,
// with the real istiod of each: each istiod's registry holds only its tenant's services, and a pod in a tenant
// namespace (labelled istio.io/rev=<its revision>) is injected by its tenant's istiod only.
func TestRealIstiod_MultiTenant(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	startOperator(t)
	tenants := map[string]string{"a": "tenant-a", "b": "tenant-b"}
	for tenant, name := range tenants {
		createNamespace(t, name+"-system", map[string]string{"tenant": tenant})
		createNamespace(t, "shop-"+tenant, map[string]string{"tenant": tenant, "istio.io/rev": name})
	}
	for tenant, name := range tenants {
		createIstio(t, tenantIstio(name, name+"-system", tenant))
		g.Expect(c.Create(ctx, tenantService("shop-"+tenant, "web-"+tenant))).To(Succeed())
	}
	istiods := map[string]*framework.Istiod{}
	for tenant, name := range tenants {
		istiods[tenant] = startIstiod(t, name+"-system", name, "v1.31.0")
	}

	t.Run("each istiod discovers only its tenant's services", func(t *testing.T) {
		for tenant, other := range map[string]string{"a": "b", "b": "a"} {
			g := NewWithT(t)
			registry := func() string {
				body, err := istiods[tenant].Debug("/debug/registryz")
				if err != nil {
					return err.Error()
				}
				return body
			}
			g.Eventually(registry, waitFor).Should(ContainSubstring("web-"+tenant+".shop-"+tenant+".svc.cluster.local"),
				"istiod %s lists its tenant's service", tenant)
			g.Expect(registry()).NotTo(ContainSubstring("web-"+other+".shop-"+other), "istiod %s lists no service of tenant %s", tenant, other)
			g.Expect(registry()).NotTo(ContainSubstring("kubernetes.default.svc"), "istiod %s lists no service outside its selectors", tenant)
		}
	})

	t.Run("each tenant's pods are injected by its own istiod", func(t *testing.T) {
		for tenant, name := range tenants {
			g := NewWithT(t)
			pod := testPod("shop-"+tenant, "web", map[string]string{"app": "web-" + tenant})
			g.Expect(c.Create(ctx, pod)).To(Succeed())
			sidecar := sidecarOf(pod)
			g.Expect(sidecar).NotTo(BeNil(), "the pod of tenant %s is injected", tenant)
			g.Expect(pod.Annotations).To(HaveKeyWithValue("istio.io/rev", name))
			var discovery string
			for _, e := range sidecar.Env {
				if e.Name == "PROXY_CONFIG" || e.Name == "CA_ADDR" {
					discovery += e.Value
				}
			}
			g.Expect(discovery).To(ContainSubstring("istiod-"+name+"."+name+"-system.svc:15012"),
				"the sidecar of tenant %s connects to its tenant's istiod", tenant)
			for _, other := range tenants {
				if other != name {
					g.Expect(strings.Contains(discovery, "istiod-"+other+".")).To(BeFalse())
				}
			}
		}
	})
}
