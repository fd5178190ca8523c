package lifecycle

import "testing"

func TestSelectorCounts_FlipOnlyAtZero(t *testing.T) {
	c := &selectorCounts{n: map[string]int{}}
	steps := []struct {
		name  string
		delta int
		flip  bool
	}{
		{"a", 1, true}, {"a", 1, false}, {"b", 1, true}, {"a", -1, false}, {"a", -1, true},
		{"a", -1, true}, // a removal never counted is reported
		{"a", 1, true}, {"b", -1, true},
	}
	for i, s := range steps {
		if got := c.change(s.name, s.delta); got != s.flip {
			t.Errorf("step %d (%s %+d): flip %v, want %v", i, s.name, s.delta, got, s.flip)
		}
	}
	if len(c.n) != 1 || c.n["a"] != 1 {
		t.Errorf("counts %v, want only a=1", c.n)
	}
}
