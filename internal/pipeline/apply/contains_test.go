package apply

import "testing"

func TestDifference(t *testing.T) {
	cases := []struct {
		name       string
		have, want any
		holds      bool
	}{
		{"equal maps", map[string]any{"a": "x"}, map[string]any{"a": "x"}, true},
		{"live has more keys", map[string]any{"a": "x", "b": int64(1)}, map[string]any{"a": "x"}, true},
		{"value changed", map[string]any{"a": "y"}, map[string]any{"a": "x"}, false},
		{"value removed", map[string]any{}, map[string]any{"a": "x"}, false},
		{"false removed", map[string]any{}, map[string]any{"a": false}, false},
		{"empty string absent", map[string]any{}, map[string]any{"a": ""}, true},
		{"null wanted", map[string]any{}, map[string]any{"a": nil}, true},
		{"empty map wanted", map[string]any{}, map[string]any{"a": map[string]any{}}, true},
		{"int and float", int64(3), float64(3), true},
		{"numbers differ", int64(3), float64(3.5), false},
		{"quantity forms", "2Gi", "2048Mi", true},
		{"quantity number", "1", int64(1), true},
		{"quantities differ", "1Gi", "2048Mi", false},
		{"strings differ", "istio", "istiod", false},
		{"list same", []any{"a", "b"}, []any{"a", "b"}, true},
		{"list order", []any{"b", "a"}, []any{"a", "b"}, false},
		{"list longer live", []any{"a", "b"}, []any{"a"}, false},
		{"list of maps with defaults", []any{map[string]any{"name": "c", "imagePullPolicy": "Always"}},
			[]any{map[string]any{"name": "c"}}, true},
		{"type mismatch", "a", map[string]any{"a": "x"}, false},
	}
	for _, c := range cases {
		if got := difference(c.have, c.want, "$") == ""; got != c.holds {
			t.Errorf("%s: held %v in %v: %v, want %v", c.name, c.want, c.have, got, c.holds)
		}
	}
}
