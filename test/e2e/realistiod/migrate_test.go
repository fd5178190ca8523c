package realistiod

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/cli/sailctl"
)

// multiTenantSMCP is an OpenShift Service Mesh 2 MultiTenant control plane in mesh-system whose member roll
// lists shop-a and shop-b.
const multiTenantSMCP = `apiVersion: maistra.io/v2
kind: ServiceMeshControlPlane
metadata:
  name: basic
  namespace: mesh-system
spec:
  version: v2.6
  mode: MultiTenant
---
apiVersion: maistra.io/v1
kind: ServiceMeshMemberRoll
metadata:
  name: default
  namespace: mesh-system
spec:
  members:
  - shop-a
  - shop-b
`

// migrate runs `sailctl migrate` on the OpenShift Service Mesh 2 resources in input for Kubernetes and Istio
// version, and returns the generated resources.
func migrate(t *testing.T, input, version string) []*unstructured.Unstructured {
	g := NewWithT(t)
	path := filepath.Join(t.TempDir(), "ossm2.yaml")
	g.Expect(os.WriteFile(path, []byte(input), 0o600)).To(Succeed())
	var out, errOut strings.Builder
	code := sailctl.Execute([]string{"migrate", "-f", path, "--platform", "kubernetes", "--version", version,
		"--output", "json"}, strings.NewReader(""), &out, &errOut)
	var res struct {
		Resources []map[string]any `json:"resources"`
	}
	g.Expect(json.Unmarshal([]byte(out.String()), &res)).To(Succeed(), "exit code %d: %s", code, errOut.String())
	g.Expect(code).To(BeNumerically("<=", 1), "the migration is not blocked: %s", out.String())
	objs := make([]*unstructured.Unstructured, 0, len(res.Resources))
	for _, r := range res.Resources {
		objs = append(objs, &unstructured.Unstructured{Object: r})
	}
	return objs
}

// applyAll applies objects with server-side apply, as `kubectl apply --server-side` would: the migration's
// Namespace objects only add labels to the existing namespaces. Istio's kinds are applied once Sail installed
// their CRDs; Istios and IstioCNIs are deleted when the test ends.
func applyAll(t *testing.T, objs []*unstructured.Unstructured) {
	g := NewWithT(t)
	ctx := context.Background()
	apply := func(c client.Client, u *unstructured.Unstructured) {
		g.Expect(c.Patch(ctx, u, client.Apply, client.FieldOwner("sailctl-migrate"), client.ForceOwnership)).
			To(Succeed(), "%s %s is applied", u.GetKind(), u.GetName())
		switch u.GetKind() {
		case sailv1.IstioKind:
			t.Cleanup(func() { deleteIstio(t, u.GetName()) })
		case sailv1.IstioCNIKind:
			t.Cleanup(func() { _ = cluster.Client.Delete(ctx, u) })
		}
	}
	var istioKinds []*unstructured.Unstructured
	for _, u := range objs {
		if strings.HasSuffix(u.GroupVersionKind().Group, "istio.io") {
			istioKinds = append(istioKinds, u)
			continue
		}
		apply(cluster.Client, u)
	}
	c := istioClient(t)
	for _, u := range istioKinds {
		apply(c, u)
	}
}

// TestRealIstiod_MigratedMultiTenant applies the output of `sailctl migrate` for a MultiTenant
// ServiceMeshControlPlane and its ServiceMeshMemberRoll, and runs the real istiod of the converted Istio: it
// discovers the member namespaces and the control plane's namespace, as the member roll did, and no other.
func TestRealIstiod_MigratedMultiTenant(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	startOperator(t)
	for _, ns := range []string{"mesh-system", "istio-cni", "shop-a", "shop-b", "shop-c"} {
		createNamespace(t, ns, nil)
	}
	for _, ns := range []string{"shop-a", "shop-b", "shop-c"} {
		g.Expect(cluster.Client.Create(ctx, tenantService(ns, "web-"+strings.TrimPrefix(ns, "shop-")))).To(Succeed())
	}
	objs := migrate(t, multiTenantSMCP, "v1.31.0")
	applyAll(t, objs)
	const istio = "basic-mesh-system" // <smcp>-<namespace>
	g.Eventually(readyStatus(istio), waitFor).Should(HavePrefix("True"))
	in := startIstiod(t, "mesh-system", istio, "v1.31.0")

	registry := func() string {
		body, err := in.Debug("/debug/registryz")
		if err != nil {
			return err.Error()
		}
		return body
	}
	for _, member := range []string{"web-a.shop-a", "web-b.shop-b", "istiod-" + istio + ".mesh-system"} {
		g.Eventually(registry, waitFor).Should(ContainSubstring(member+".svc.cluster.local"),
			"istiod lists the Service %s of a member or of the control plane namespace", member)
	}
	g.Expect(registry()).NotTo(ContainSubstring("web-c.shop-c.svc"), "istiod lists no Service of a namespace outside the member roll")
	g.Expect(registry()).NotTo(ContainSubstring("kubernetes.default.svc"), "istiod lists no Service of the default namespace")
}
