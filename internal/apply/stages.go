package apply

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// stageOf orders kinds so that what others depend on exists first: CRDs and namespaces, then identities and
// configuration, then bindings, then workloads and services, then admission webhooks (last, so they never point
// at a service that does not exist yet).
func stageOf(kind string) int {
	switch kind {
	case "CustomResourceDefinition", "Namespace":
		return 0
	case "ServiceAccount", "ClusterRole", "Role", "ConfigMap", "Secret", "ResourceQuota", "LimitRange":
		return 1
	case "ClusterRoleBinding", "RoleBinding":
		return 2
	case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		return 4
	default:
		return 3
	}
}

// Stages groups objects by apply order; the order within a stage is kept.
func Stages(objs []*unstructured.Unstructured) [][]*unstructured.Unstructured {
	stages := make([][]*unstructured.Unstructured, 5)
	for _, u := range objs {
		s := stageOf(u.GetKind())
		stages[s] = append(stages[s], u)
	}
	out := stages[:0]
	for _, s := range stages {
		if len(s) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// StripRuntimeFields removes from an object the fields that istiod writes at run time, so Sail never owns them
// and never fights istiod over them: the CA bundle of every admission webhook, and the failure policy of
// validating webhooks (istiod switches it to Fail once its validation server is ready).
func StripRuntimeFields(u *unstructured.Unstructured) {
	kind := u.GetKind()
	if kind != "MutatingWebhookConfiguration" && kind != "ValidatingWebhookConfiguration" {
		return
	}
	webhooks, found, _ := unstructured.NestedSlice(u.Object, "webhooks")
	if !found {
		return
	}
	for _, w := range webhooks {
		wm, ok := w.(map[string]any)
		if !ok {
			continue
		}
		if cc, ok := wm["clientConfig"].(map[string]any); ok {
			delete(cc, "caBundle")
		}
		if kind == "ValidatingWebhookConfiguration" {
			delete(wm, "failurePolicy")
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, webhooks, "webhooks")
}
