package apply

import (
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func workloadFirst(u *unstructured.Unstructured) int {
	switch u.GetKind() {
	case "Deployment", "DaemonSet", "StatefulSet":
		return 1
	default:
		return 0
	}
}

// stageOf orders kinds so that what others depend on exists first: CRDs and namespaces; then identities,
// configuration and roles together with the workloads, so that rollouts start as early as possible (the workload
// controllers create pods only after they see the workload, by which time its ServiceAccount exists, and retry
// if not); then everything else; then admission webhooks (last, so they never point at a service that does not
// exist yet).
func stageOf(kind string) int {
	switch kind {
	case "CustomResourceDefinition", "Namespace":
		return 0
	case "ServiceAccount", "ClusterRole", "Role", "ConfigMap", "Secret", "ResourceQuota", "LimitRange",
		"Deployment", "DaemonSet", "StatefulSet":
		return 1
	case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		return 3
	default:
		return 2
	}
}

// Stages groups objects by apply order; the order within a stage is kept.
func Stages(objs []*unstructured.Unstructured) [][]*unstructured.Unstructured {
	stages := make([][]*unstructured.Unstructured, 4)
	for _, u := range objs {
		s := stageOf(u.GetKind())
		stages[s] = append(stages[s], u)
	}
	// Within a stage, workloads go last so that a bounded number of parallel requests creates their
	// ServiceAccounts and ConfigMaps first.
	slices.SortStableFunc(stages[1], func(a, b *unstructured.Unstructured) int {
		return workloadFirst(a) - workloadFirst(b)
	})
	out := stages[:0]
	for _, s := range stages {
		if len(s) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// StripRuntimeFields removes from an object the fields that istiod writes at run time and the chart leaves empty,
// so Sail never owns them and never fights istiod over them: an admission webhook's empty CA bundle (istiod fills
// it in). A CA bundle the user set (values.istiodRemote.injectionCABundle, values.base.validationCABundle: remote
// and external control planes need them) is applied as given. The validating webhooks' failure policy is kept
// here: Apply creates the webhook with the chart's value and keeps the live value after that (see
// keepLiveFailurePolicy).
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
		if cc, ok := wm["clientConfig"].(map[string]any); ok && isEmpty(cc["caBundle"]) {
			delete(cc, "caBundle")
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, webhooks, "webhooks")
}

func isEmpty(v any) bool {
	s, ok := v.(string)
	return v == nil || (ok && s == "")
}
