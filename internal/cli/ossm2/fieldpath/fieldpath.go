// Package fieldpath names a field inside an object decoded from JSON (spec.proxy.adminPort, spec.items[2].name)
// and looks values up by it. Findings of the OpenShift Service Mesh 2 conversion say which input field they are
// about with these paths.
package fieldpath

import (
	"strconv"
	"strings"
)

// Path locates a field inside an object, one segment per map key; list indexes are segments of the form "[3]".
type Path []string

// Parse splits a dotted path such as "spec.values.pilot" into segments. Keys that contain dots cannot be written
// this way; build those paths with Child.
func Parse(s string) Path {
	if s == "" {
		return nil
	}
	return Path(strings.Split(s, "."))
}

// Child returns a new path with keys appended.
func (p Path) Child(keys ...string) Path {
	out := make(Path, 0, len(p)+len(keys))
	out = append(out, p...)
	return append(out, keys...)
}

// Index returns a new path with list index i appended.
func (p Path) Index(i int) Path {
	return p.Child("[" + strconv.Itoa(i) + "]")
}

// Join returns p followed by q.
func (p Path) Join(q Path) Path {
	return p.Child(q...)
}

// String renders the path as people write it: spec.proxy.adminPort, spec.items[2].name,
// spec.runtime.components["mixer.policy"].
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case isIndex(s):
			b.WriteString(s)
		case plainKey(s):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		default:
			b.WriteString("[" + strconv.Quote(s) + "]")
		}
	}
	return b.String()
}

func isIndex(s string) bool {
	_, ok := index(s)
	return ok
}

// index returns the list index of a segment of the form "[3]".
func index(s string) (int, bool) {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return 0, false
	}
	i, err := strconv.Atoi(s[1 : len(s)-1])
	return i, err == nil
}

func plainKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Lookup returns the value at path p inside a tree decoded from JSON, and whether it exists and is not null.
func Lookup(tree any, p Path) (any, bool) {
	cur := tree
	for _, s := range p {
		next, ok := step(cur, s)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, cur != nil
}

// step returns the element of a list or the value of a map key that segment s names.
func step(cur any, s string) (any, bool) {
	if i, ok := index(s); ok {
		l, isList := cur.([]any)
		if !isList || i >= len(l) {
			return nil, false
		}
		return l[i], true
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, false
	}
	v, ok := m[s]
	return v, ok
}
