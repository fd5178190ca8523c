package render

import "k8s.io/apimachinery/pkg/runtime"

// runtimeDeepCopy copies a JSON-like tree; Helm's coalescing modifies the values it is given.
func runtimeDeepCopy(m map[string]any) map[string]any {
	return runtime.DeepCopyJSON(m)
}
