// Package strict checks trees decoded from JSON (maps, lists, strings, json.Number, booleans, nulls) against Go
// types and decodes them: every field the type does not have and every value of the wrong type is reported with
// its full path, instead of being dropped or stopping at the first one as encoding/json does.
package strict

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
)

// Problem is a field of the input that does not fit the Go type it is decoded into.
type Problem struct {
	// Path is where the field is.
	Path fieldpath.Path
	// Unknown is true when the field does not exist in the type (as opposed to having the wrong type).
	Unknown bool
	// Message says what is wrong.
	Message string
}

// Schema is implemented by types that are checked against another type than themselves: Check walks the tree
// along StrictSchema instead, and decoding still fills the type as it is.
type Schema interface {
	// StrictSchema is the type the tree is checked against.
	StrictSchema() reflect.Type
}

// Opaque is a section that is decoded as a plain map (read loosely, key by key) but checked strictly against the
// schema S, so that a misplaced or misspelt field inside it is still reported with its full path.
type Opaque[S any] map[string]any

// StrictSchema returns S.
func (Opaque[S]) StrictSchema() reflect.Type { return reflect.TypeFor[S]() }

// Check walks tree along the Go type t and returns every field that t does not have and every value of the wrong
// type, each with its full path under at. Where t implements Schema, its schema is walked instead. Where t (or *t) implements json.Unmarshaler, the value is handed to it
// and its error is reported at that path. Interface types and map[string]any accept anything.
func Check(tree any, t reflect.Type, at fieldpath.Path) []Problem {
	c := &checker{}
	c.value(tree, t, at)
	return c.problems
}

// Decode checks tree against the type of into (a pointer) and, when it fits, decodes it. Problems are returned
// with paths under at.
func Decode(tree any, into any, at fieldpath.Path) []Problem {
	t := reflect.TypeOf(into).Elem()
	if problems := Check(tree, t, at); len(problems) > 0 {
		return problems
	}
	data, err := json.Marshal(tree)
	if err == nil {
		err = json.Unmarshal(data, into)
	}
	if err != nil {
		return []Problem{{Path: at, Message: TrimError(err)}}
	}
	return nil
}

// DropUnknown removes the fields reported unknown from tree (in place), so that the rest can be decoded; base is
// the path of tree that the problems' paths start with.
func DropUnknown(tree any, base fieldpath.Path, problems []Problem) {
	for _, p := range problems {
		if !p.Unknown || len(p.Path) <= len(base) {
			continue
		}
		rel := p.Path[len(base):]
		parent, ok := fieldpath.Lookup(tree, rel[:len(rel)-1])
		if !ok {
			continue
		}
		if m, ok := parent.(map[string]any); ok {
			delete(m, rel[len(rel)-1])
		}
	}
}

// Tree decodes JSON into maps and lists, keeping numbers as json.Number: the form Check reads.
func Tree(data []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// Describe names the JSON type of v (and its value, when short) for error messages.
func Describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		if len(t) > 40 {
			t = t[:40] + "..."
		}
		return fmt.Sprintf("a string (%q)", t)
	case bool:
		return fmt.Sprintf("a boolean (%t)", t)
	case json.Number:
		return "a number (" + t.String() + ")"
	case float64:
		return fmt.Sprintf("a number (%v)", t)
	default:
		return fmt.Sprintf("%T", v)
	}
}

// TrimError returns the message of an encoding/json error without its "json: " prefix.
func TrimError(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}
