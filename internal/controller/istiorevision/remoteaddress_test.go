package istiorevision

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/pipeline/objectid"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// renderRemote renders the default revision of Istio v1.31.0 with the remote profile and remotePilotAddress
// address, as the operator does.
func renderRemote(t *testing.T, address string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	version, err := versions.Default().Resolve("v1.31.0")
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	vals, err := values.ForRevision(values.Input{Version: version, Profile: "remote", Platform: values.PlatformKubernetes,
		User: &sailv1.Values{Global: &sailv1.GlobalConfig{RemotePilotAddress: address}}, Revision: "default",
		Namespace: "istio-system"})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	r := &Reconciler{Deps: lifecycle.Deps{Renderer: render.New(nil), Versions: versions.Default()}}
	return r.Render(&sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: sailv1.IstioRevisionSpec{Version: "v1.31.0", Namespace: "istio-system", Values: vals}})
}

// find returns the rendered objects of a kind.
func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// injectionPorts returns the port of each injection webhook that calls a Service.
func injectionPorts(t *testing.T, objs []*unstructured.Unstructured) []any {
	t.Helper()
	var ports []any
	for _, mwc := range find(objs, "MutatingWebhookConfiguration") {
		webhooks, _, _ := unstructured.NestedSlice(mwc.Object, "webhooks")
		for _, w := range webhooks {
			svc, _, _ := unstructured.NestedMap(w.(map[string]any), "clientConfig", "service")
			NewWithT(t).Expect(svc).To(HaveKeyWithValue("name", "istiod"))
			ports = append(ports, svc["port"])
		}
	}
	NewWithT(t).Expect(ports).NotTo(BeEmpty(), "the remote profile renders injection webhooks")
	return ports
}

// TestRender_RemotePilotAddress renders the remote profile with an IP address and with a DNS name: an IP gives the
// istiod Service an EndpointSlice with that address (the Service's ClusterIP forwards the webhooks' port 443 to
// 15017); a DNS name gives an ExternalName Service and no EndpointSlice, and the webhooks call port 15017 of the
// Service, which the API server calls on the name itself (without the transformation: port 443, which the primary
// does not serve). An address with a port or scheme is refused with what to write instead.
func TestRender_RemotePilotAddress(t *testing.T) {
	t.Run("IP address", func(t *testing.T) {
		g := NewWithT(t)
		objs, err := renderRemote(t, "10.0.0.7")
		g.Expect(err).NotTo(HaveOccurred())
		slices := find(objs, "EndpointSlice")
		g.Expect(slices).To(HaveLen(1))
		g.Expect(slices[0].Object["endpoints"]).To(ConsistOf(HaveKeyWithValue("addresses", ConsistOf("10.0.0.7"))))
		svc := find(objs, "Service")
		g.Expect(svc).To(HaveLen(1))
		g.Expect(svc[0].Object["spec"]).NotTo(HaveKey("type"), "a ClusterIP Service")
		g.Expect(injectionPorts(t, objs)).To(HaveEach(BeNumerically("==", 443)))
		g.Expect(find(objs, "Deployment")).To(BeEmpty(), "no istiod in a remote cluster")
	})
	t.Run("DNS name", func(t *testing.T) {
		g := NewWithT(t)
		objs, err := renderRemote(t, "istiod.primary.example.com")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(find(objs, "EndpointSlice")).To(BeEmpty())
		svc := find(objs, "Service")
		g.Expect(svc).To(HaveLen(1))
		g.Expect(svc[0].Object["spec"]).To(And(HaveKeyWithValue("type", "ExternalName"),
			HaveKeyWithValue("externalName", "istiod.primary.example.com")))
		g.Expect(injectionPorts(t, objs)).To(HaveEach(BeNumerically("==", 15017)))
		for _, mwc := range find(objs, "MutatingWebhookConfiguration") {
			h, err := objectid.Hash(mwc)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(mwc.GetAnnotations()).To(HaveKeyWithValue(objectid.AnnotationHash, h),
				"the content hash covers the changed port (else the applier skips the object)")
		}
	})
	for _, bad := range []string{"istiod.example.com:15012", "https://istiod.example.com", "Istiod_Primary"} {
		t.Run("refused: "+bad, func(t *testing.T) {
			_, err := renderRemote(t, bad)
			NewWithT(t).Expect(err).To(MatchError(And(ContainSubstring(bad),
				ContainSubstring("neither an IP address nor a DNS name"), ContainSubstring("without port, scheme or path"))))
		})
	}
}
