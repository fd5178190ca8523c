package ossm2

import (
	"encoding/json"
	"strings"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// valuesTree collects the Helm values of the Istio being generated, as nested maps.
type valuesTree struct {
	root map[string]any
}

func newValuesTree() *valuesTree { return &valuesTree{root: map[string]any{}} }

// set stores v at p, creating the maps on the way; a value that is not a map on the way is replaced.
func (t *valuesTree) set(p Path, v any) {
	m := t.root
	for _, k := range p[:len(p)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[p[len(p)-1]] = v
}

// get returns the value at p.
func (t *valuesTree) get(p Path) (any, bool) {
	v, ok := lookup(t.root, p)
	if !ok {
		// lookup reports nulls as absent; values never hold nulls.
		return nil, false
	}
	return v, true
}

// typed converts the tree to Istio's typed values, reporting every field that does not fit with its path under
// spec.values.
func (t *valuesTree) typed() (*sailv1.Values, []fieldProblem) {
	data, err := json.Marshal(t.root)
	if err != nil {
		return nil, []fieldProblem{{Message: err.Error()}}
	}
	tree, err := decodeJSONTree(data)
	if err != nil {
		return nil, []fieldProblem{{Message: err.Error()}}
	}
	out := &sailv1.Values{}
	if problems := decodeStrict(tree, out, Path{"spec", "values"}); len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

// decodeJSONTree decodes JSON into maps and lists, keeping numbers as json.Number.
func decodeJSONTree(data []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// vpath splits a dotted values path; none of the keys written this way contain dots.
func vpath(s string) Path { return ParsePath(s) }
