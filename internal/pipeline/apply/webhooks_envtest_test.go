package apply_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

// webhookConfig is a webhook configuration as Istio's charts render it: one webhook with the given failure policy
// and CA bundle ("" when istiod fills it in), and a label that tests change to make Sail apply again.
func webhookConfig(kind, failurePolicy, caBundle, label string) *unstructured.Unstructured {
	webhook := map[string]any{
		"name": "rev.validation.istio.io", "sideEffects": "None", "admissionReviewVersions": []any{"v1"},
		"clientConfig": map[string]any{"caBundle": caBundle, "url": "https://istiod.invalid:443/validate"},
	}
	if failurePolicy != "" {
		webhook["failurePolicy"] = failurePolicy
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
		"metadata": map[string]any{"name": "istio-validator", "labels": map[string]any{"try": label}},
		"webhooks": []any{webhook},
	}}
	apply.StripRuntimeFields(u) // as Prepare does
	return u
}

// TestApply_WebhookRuntimeFields checks the contract with istiod over the fields it writes at run time: a
// validating webhook is created with the chart's failure policy (Ignore: fail open until istiod's validation
// server is up), which Sail never changes afterwards, not even when it applies again; once istiod switches it to
// Fail, Sail sends no request for it; a CA bundle the chart leaves empty is istiod's, one the user set is applied.
func TestApply_WebhookRuntimeFields(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	m := apply.NewApplier(env.Client, env.Client, env.Client.Scheme(), "sail-test")
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	live := func() (string, string) {
		g.ExpectWithOffset(1, env.Client.Get(ctx, client.ObjectKey{Name: "istio-validator"}, vwc)).To(Succeed())
		return string(*vwc.Webhooks[0].FailurePolicy), string(vwc.Webhooks[0].ClientConfig.CABundle)
	}
	applyOnce := func(u *unstructured.Unstructured) apply.Action {
		changes, err := m.Apply(ctx, []*unstructured.Unstructured{u})
		g.ExpectWithOffset(1, err).NotTo(HaveOccurred())
		g.ExpectWithOffset(1, changes).To(HaveLen(1))
		return changes[0].Action
	}

	g.Expect(applyOnce(webhookConfig("ValidatingWebhookConfiguration", "Ignore", "", "1"))).To(Equal(apply.Created))
	policy, ca := live()
	g.Expect(policy).To(Equal("Ignore"), "created with the chart's failure policy, not the API server's default Fail")
	g.Expect(ca).To(BeEmpty())

	g.Expect(applyOnce(webhookConfig("ValidatingWebhookConfiguration", "Ignore", "", "2"))).To(Equal(apply.Configured))
	policy, _ = live()
	g.Expect(policy).To(Equal("Ignore"), "applying again before istiod runs keeps the webhook failing open")

	// istiod starts: it fills in the CA bundle and switches the policy to Fail.
	fail := admissionregistrationv1.Fail
	vwc.Webhooks[0].FailurePolicy = &fail
	vwc.Webhooks[0].ClientConfig.CABundle = []byte("istiod-ca")
	g.Expect(env.Client.Update(ctx, vwc, client.FieldOwner("pilot-discovery"))).To(Succeed())
	before := m.Stats().Applies
	g.Expect(applyOnce(webhookConfig("ValidatingWebhookConfiguration", "Ignore", "", "2"))).To(Equal(apply.Unchanged))
	g.Expect(m.Stats().Applies).To(Equal(before), "istiod's changes are not drift: no request")

	g.Expect(applyOnce(webhookConfig("ValidatingWebhookConfiguration", "Ignore", "", "3"))).To(Equal(apply.Configured))
	policy, ca = live()
	g.Expect(policy).To(Equal("Fail"), "Sail never turns istiod's Fail back into the chart's Ignore")
	g.Expect(ca).To(Equal("istiod-ca"))

	// A remote control plane: the user gives the CA bundle (values.base.validationCABundle, base64 "user-ca").
	g.Expect(applyOnce(webhookConfig("ValidatingWebhookConfiguration", "Ignore", "dXNlci1jYQ==", "4"))).To(Equal(apply.Configured))
	_, ca = live()
	g.Expect(ca).To(Equal("user-ca"))
}
