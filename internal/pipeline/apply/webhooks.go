package apply

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Request returns the object Apply sends for the prepared object u when its live copy is live (nil when there is
// none): a copy of u with the fields istiod owns at run time taken from live (keepLiveFailurePolicy).
func Request(u *unstructured.Unstructured, live client.Object) *unstructured.Unstructured {
	applied := u.DeepCopy()
	if live != nil {
		keepLiveFailurePolicy(applied, live)
	}
	return applied
}

// keepLiveFailurePolicy gives each validating webhook of u the failure policy its live copy has (or none, when the
// live webhook has none). istiod owns that field at run time: the chart creates the webhook failing open
// (Ignore) so that Istio config can be written before istiod's validation server is up, and istiod switches it
// to Fail once it is. Sail sets the chart's value only when it creates the webhook; after that it sends what is
// there, so that applying again neither reverts istiod's Fail nor removes the field (the API server would
// default it to Fail while istiod is not yet up).
func keepLiveFailurePolicy(u *unstructured.Unstructured, live client.Object) {
	if u.GetKind() != "ValidatingWebhookConfiguration" {
		return
	}
	policies := liveFailurePolicies(live)
	webhooks, found, _ := unstructured.NestedSlice(u.Object, "webhooks")
	if !found {
		return
	}
	for _, w := range webhooks {
		wm, ok := w.(map[string]any)
		if !ok {
			continue
		}
		name, _ := wm["name"].(string)
		if policy, ok := policies[name]; ok {
			wm["failurePolicy"] = policy
		} else {
			delete(wm, "failurePolicy")
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, webhooks, "webhooks")
}

// liveFailurePolicies maps the name of each webhook of a live configuration to its failure policy.
func liveFailurePolicies(live client.Object) map[string]any {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return nil
	}
	webhooks, _, _ := unstructured.NestedSlice(content, "webhooks")
	out := map[string]any{}
	for _, w := range webhooks {
		wm, ok := w.(map[string]any)
		if !ok {
			continue
		}
		name, _ := wm["name"].(string)
		if policy, ok := wm["failurePolicy"]; ok && name != "" {
			out[name] = policy
		}
	}
	return out
}

// withoutRuntimeOwnership removes from a managed-fields tree the validating webhooks' failurePolicy, whose
// ownership moves to istiod when it switches the policy: losing it is not drift and must not trigger an apply.
func withoutRuntimeOwnership(kind string, tree map[string]any) {
	if kind != "ValidatingWebhookConfiguration" {
		return
	}
	webhooks, _ := tree["f:webhooks"].(map[string]any)
	for _, w := range webhooks {
		if wm, ok := w.(map[string]any); ok {
			delete(wm, "f:failurePolicy")
		}
	}
}

// canonicalFields encodes a managed-fields entry with sorted keys and without the runtime fields istiod may take
// over, so that entries read from the API server and from a decoded copy compare equal.
func canonicalFields(kind string, raw []byte) string {
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return string(raw)
	}
	withoutRuntimeOwnership(kind, tree)
	canonical, err := json.Marshal(tree) // map keys are sorted
	if err != nil {
		return string(raw)
	}
	return string(canonical)
}
