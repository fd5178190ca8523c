package parity

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func object(kind, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": "ns"}}}
	for k, v := range fields {
		u.Object[k] = v
	}
	return u
}

// TestCompare checks the comparison itself: Sail's metadata and the empty caBundles left to istiod are ignored;
// anything else that differs, and an object only one side renders, is reported.
func TestCompare(t *testing.T) {
	helm := []*unstructured.Unstructured{
		object("ConfigMap", "same", map[string]any{"data": map[string]any{"a": "1"}}),
		object("ConfigMap", "changed", map[string]any{"data": map[string]any{"a": "1"}}),
		object("ValidatingWebhookConfiguration", "webhook", map[string]any{"webhooks": []any{
			map[string]any{"name": "w", "failurePolicy": "Ignore", "clientConfig": map[string]any{"caBundle": ""}}}}),
		object("ValidatingWebhookConfiguration", "policy", map[string]any{"webhooks": []any{
			map[string]any{"name": "w", "failurePolicy": "Ignore"}}}),
		object("ConfigMap", "helm-only", nil),
	}
	sail := []*unstructured.Unstructured{
		object("ConfigMap", "same", map[string]any{"data": map[string]any{"a": "1"}}),
		object("ConfigMap", "changed", map[string]any{"data": map[string]any{"a": "2"}}),
		object("ValidatingWebhookConfiguration", "webhook", map[string]any{"webhooks": []any{
			map[string]any{"name": "w", "failurePolicy": "Ignore", "clientConfig": map[string]any{}}}}),
		object("ValidatingWebhookConfiguration", "policy", map[string]any{"webhooks": []any{
			map[string]any{"name": "w", "failurePolicy": "Fail"}}}),
		object("ConfigMap", "sail-only", nil),
	}
	sail[0].SetLabels(map[string]string{"sailoperator.io/managed-by": "sail-operator"})
	sail[0].SetAnnotations(map[string]string{"sailoperator.io/applied-hash": "x"})
	sail[0].SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "sailoperator.io/v1", Kind: "Istio", Name: "default"}})

	res := compare(helm, sail)
	if res.compared != 4 {
		t.Errorf("compared %d objects, want 4", res.compared)
	}
	got := strings.Join(res.diffs, "\n")
	for _, want := range []string{"ConfigMap ns/changed differs", "ValidatingWebhookConfiguration ns/policy differs",
		"ConfigMap ns/helm-only: rendered by Helm, not by Sail",
		"ConfigMap ns/sail-only: rendered by Sail, not by Helm"} {
		if !strings.Contains(got, want) {
			t.Errorf("diffs do not report %q:\n%s", want, got)
		}
	}
	if len(res.diffs) != 4 {
		t.Errorf("want 4 differences, got %d:\n%s", len(res.diffs), got)
	}
}
