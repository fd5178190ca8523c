package parity

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sailPrefix starts the labels and annotations that are Sail's own (owner, managed-by, applied hash).
const sailPrefix = "sailoperator.io/"

// stripSail removes from an object what Sail adds to every object it applies and what it leaves to istiod at run
// time: its own labels and annotations, the owner reference, and the admission webhooks' empty caBundles, which
// istiod fills in. The validating webhooks' failurePolicy is compared: Sail creates them with the chart's (istiod
// switches it at run time, and Sail keeps the live value from then on).
func stripSail(u *unstructured.Unstructured) {
	u.SetOwnerReferences(nil)
	u.SetLabels(withoutSail(u.GetLabels()))
	u.SetAnnotations(withoutSail(u.GetAnnotations()))
	webhooks, ok := u.Object["webhooks"].([]any)
	if !ok || !strings.HasSuffix(u.GetKind(), "WebhookConfiguration") {
		return
	}
	for _, w := range webhooks {
		wm, _ := w.(map[string]any)
		if cc, ok := wm["clientConfig"].(map[string]any); ok && cc["caBundle"] == "" {
			delete(cc, "caBundle")
		}
	}
}

func withoutSail(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !strings.HasPrefix(k, sailPrefix) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// decodeJSONData replaces the JSON documents in a ConfigMap's data (istiod's values, the injector's values) with
// their content, so that a difference shows as the settings that differ rather than as two long strings.
func decodeJSONData(u *unstructured.Unstructured) {
	data, ok := u.Object["data"].(map[string]any)
	if u.GetKind() != "ConfigMap" || !ok {
		return
	}
	for k, v := range data {
		text, _ := v.(string)
		var doc map[string]any
		if strings.HasPrefix(text, "{") && json.Unmarshal([]byte(text), &doc) == nil {
			data[k] = doc
		}
	}
}

// id names an object in diffs.
func id(u *unstructured.Unstructured) string {
	ns := u.GetNamespace()
	if ns != "" {
		ns += "/"
	}
	return u.GetKind() + " " + ns + u.GetName()
}

// comparison is the outcome of comparing one install both ways.
type comparison struct {
	// compared counts the objects both sides rendered.
	compared int
	// diffs are readable differences, one per differing or missing object.
	diffs []string
}

// compare matches Helm's and Sail's objects by kind, namespace and name (both stripped of Sail's metadata and
// normalized by the intended differences), and describes every object that differs
// (as a go-cmp diff, - Helm + Sail) or that only one side renders.
func compare(helm, sail []*unstructured.Unstructured) comparison {
	byID := func(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
		m := map[string]*unstructured.Unstructured{}
	objects:
		for _, u := range objs {
			u = u.DeepCopy()
			stripSail(u)
			decodeJSONData(u)
			for _, d := range intended {
				if !d.normalize(u) {
					continue objects
				}
			}
			m[id(u)] = u
		}
		return m
	}
	h, s := byID(helm), byID(sail)
	var out comparison
	for _, k := range sortedKeys(h, s) {
		hu, inHelm := h[k]
		su, inSail := s[k]
		switch {
		case !inSail:
			out.diffs = append(out.diffs, fmt.Sprintf("%s: rendered by Helm, not by Sail", k))
		case !inHelm:
			out.diffs = append(out.diffs, fmt.Sprintf("%s: rendered by Sail, not by Helm", k))
		default:
			out.compared++
			if d := cmp.Diff(hu.Object, su.Object); d != "" {
				out.diffs = append(out.diffs, fmt.Sprintf("%s differs (-helm +sail):\n%s", k, d))
			}
		}
	}
	return out
}

func sortedKeys(maps ...map[string]*unstructured.Unstructured) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
