package istiorevision

import (
	"testing"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// TestIsRemote: only the remote profile without a local injector istiod is checked against a primary.
func TestIsRemote(t *testing.T) {
	g := NewWithT(t)
	rev := func(v *sailv1.Values) *sailv1.IstioRevision {
		return &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Spec: sailv1.IstioRevisionSpec{Values: v}}
	}
	g.Expect(isRemote(rev(nil))).To(BeFalse())
	g.Expect(isRemote(rev(&sailv1.Values{IstiodRemote: &sailv1.IstiodRemoteConfig{InjectionURL: "https://x"}}))).To(BeFalse(),
		"an injection URL alone (a local istiod elsewhere) is not the remote profile")
	g.Expect(isRemote(rev(&sailv1.Values{IstiodRemote: &sailv1.IstiodRemoteConfig{Enabled: ptr.To(true)}}))).To(BeTrue())
	g.Expect(isRemote(rev(&sailv1.Values{IstiodRemote: &sailv1.IstiodRemoteConfig{Enabled: ptr.To(true),
		EnabledLocalInjectorIstiod: ptr.To(true)}}))).To(BeFalse(), "a local injector istiod has its own readiness")
}

// TestProbeEvidence reads what the API server returned: caBundles, the injected sidecar and its control plane.
func TestProbeEvidence(t *testing.T) {
	g := NewWithT(t)
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{
		{Name: "rev.namespace.sidecar-injector.istio.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{CABundle: []byte("ca")}},
		{Name: "rev.object.sidecar-injector.istio.io"}}}
	g.Expect(webhookWithoutCABundle(cfg)).To(Equal("rev.object.sidecar-injector.istio.io"))
	cfg.Webhooks[1].ClientConfig.CABundle = []byte("ca")
	g.Expect(webhookWithoutCABundle(cfg)).To(BeEmpty())

	plain := probePod("istio-system", "default")
	g.Expect(plain.Labels).To(HaveKeyWithValue("istio.io/rev", "default"))
	g.Expect(sidecarInjected(plain)).To(BeFalse())
	g.Expect(discoveryOf(plain)).To(BeEmpty())
	native := probePod("istio-system", "default")
	native.Spec.InitContainers = []corev1.Container{{Name: "istio-proxy",
		Env: []corev1.EnvVar{{Name: "CA_ADDR", Value: "istiod.istio-system.svc:15012"}}}}
	g.Expect(sidecarInjected(native)).To(BeTrue())
	g.Expect(discoveryOf(native)).To(ContainSubstring("istiod.istio-system.svc:15012"))
}
