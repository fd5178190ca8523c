package apply

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// liveDifference returns the path of the first value of want that the live object does not hold ("" when it holds
// them all, so that applying want would change nothing): after a restart Sail remembers no apply, and an object
// that carries the digest of want, Sail's apply entry and every value of want is adopted without a request.
// Anything else (a value changed or removed while the operator was away, a list of another length) is applied
// again.
func liveDifference(live client.Object, want *unstructured.Unstructured) string {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	for key, w := range want.Object {
		if key == "apiVersion" || key == "kind" {
			continue // a typed object read from the cache carries no type meta
		}
		if path := difference(content[key], w, "."+key); path != "" {
			return path
		}
	}
	return ""
}

// difference returns the path (below path) of the first value of want that have does not hold, or "": maps key
// by key (have may hold more keys), lists element by element (same length), leaves equal, numbers by value and
// resource quantities by amount ("2048Mi" is "2Gi"). An empty map, list or string in want is held by its
// absence; a null in want is always held (apply would not set it).
func difference(have, want any, path string) string {
	switch w := want.(type) {
	case nil:
		return ""
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return emptyUnlessHeld(have == nil && len(w) == 0, path)
		}
		for key, wv := range w {
			if p := difference(h[key], wv, path+"."+key); p != "" {
				return p
			}
		}
		return ""
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return emptyUnlessHeld(!ok && have == nil && len(w) == 0, path)
		}
		for i := range w {
			if p := difference(h[i], w[i], fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
		return ""
	case string:
		// The API server drops an empty string from an omitempty field: absent holds it.
		return emptyUnlessHeld(sameLeaf(have, want) || (have == nil && w == ""), path)
	default:
		return emptyUnlessHeld(sameLeaf(have, want), path)
	}
}

func emptyUnlessHeld(held bool, path string) string {
	if held {
		return ""
	}
	return path
}

// sameLeaf compares two scalar values as the API server would store them.
func sameLeaf(have, want any) bool {
	if have == want {
		return true
	}
	if hf, ok := number(have); ok {
		if wf, ok := number(want); ok {
			return hf == wf
		}
	}
	hs, hok := quantityText(have)
	ws, wok := quantityText(want)
	if !hok || !wok {
		return false
	}
	hq, herr := resource.ParseQuantity(hs)
	wq, werr := resource.ParseQuantity(ws)
	return herr == nil && werr == nil && hq.Cmp(wq) == 0
}

// number returns v as a float64 when it is a JSON number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// quantityText returns v as the text of a possible quantity: a string, or a number written out.
func quantityText(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	if _, ok := number(v); ok {
		return fmt.Sprint(v), true
	}
	return "", false
}
