package ossm2

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// fieldProblem is a field of the input that does not fit the Go type it is decoded into.
type fieldProblem struct {
	Path Path
	// Unknown is true when the field does not exist in the type (as opposed to having the wrong type).
	Unknown bool
	Message string
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkTree walks a tree decoded from JSON (maps, lists, strings, json.Number, booleans, nulls) along the Go type
// t and returns every field that t does not have and every value of the wrong type, each with its full path.
// Where t (or *t) implements json.Unmarshaler, the value is handed to it and its error is reported at that path.
// Interface types and map[string]any accept anything.
func checkTree(v any, t reflect.Type, at Path) []fieldProblem {
	var out []fieldProblem
	checkValue(v, t, at, &out)
	return out
}

func checkValue(v any, t reflect.Type, at Path, out *[]fieldProblem) {
	if v == nil {
		return
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		data, err := json.Marshal(v)
		if err == nil {
			err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(data)
		}
		if err != nil {
			*out = append(*out, fieldProblem{Path: at, Message: fmt.Sprintf("invalid value %s: %v",
				describeJSON(v), trimJSONError(err))})
		}
		return
	}
	wrong := func(want string) {
		*out = append(*out, fieldProblem{Path: at, Message: fmt.Sprintf("expected %s, got %s", want, describeJSON(v))})
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkValue(v, t.Elem(), at, out)
	case reflect.Interface:
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			wrong("an object")
			return
		}
		fields := structFields(t)
		for _, k := range sortedKeys(m) {
			ft, ok := fields[k]
			if !ok {
				*out = append(*out, fieldProblem{Path: at.Child(k), Unknown: true, Message: "unknown field"})
				continue
			}
			checkValue(m[k], ft, at.Child(k), out)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			wrong("an object")
			return
		}
		if t.Key().Kind() != reflect.String {
			wrong("an object with " + t.Key().Kind().String() + " keys")
			return
		}
		for _, k := range sortedKeys(m) {
			checkValue(m[k], t.Elem(), at.Child(k), out)
		}
	case reflect.Slice, reflect.Array:
		l, ok := v.([]any)
		if !ok {
			if t.Elem().Kind() == reflect.Uint8 {
				if _, ok := v.(string); ok {
					return // []byte is base64 text
				}
			}
			wrong("a list")
			return
		}
		for i, e := range l {
			checkValue(e, t.Elem(), at.Index(i), out)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			wrong("a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			wrong("a boolean (true or false)")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			wrong("an integer")
			return
		}
		if strings.ContainsAny(n.String(), ".eE") {
			wrong("an integer")
		} else if _, err := strconv.ParseInt(n.String(), 10, t.Bits()); err != nil {
			wrong(fmt.Sprintf("an integer that fits in %d bits", t.Bits()))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			wrong("a non-negative integer")
			return
		}
		if strings.ContainsAny(n.String(), ".eE") {
			wrong("a non-negative integer")
		} else if _, err := strconv.ParseUint(n.String(), 10, t.Bits()); err != nil {
			wrong(fmt.Sprintf("a non-negative integer that fits in %d bits", t.Bits()))
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			wrong("a number")
		}
	default:
		wrong(t.Kind().String())
	}
}

func trimJSONError(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "json: ")
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// structFields maps the JSON names of a struct's fields to their types, following encoding/json: anonymous struct
// fields without a JSON name are inlined, fields tagged "-" and unexported fields are left out.
func structFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					if _, dup := out[k]; !dup {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	fieldCache.Store(t, out)
	return out
}

// decodeStrict checks tree against the type of into (a pointer) and, when it fits, decodes it. Problems are
// returned with paths under at.
func decodeStrict(tree any, into any, at Path) []fieldProblem {
	t := reflect.TypeOf(into).Elem()
	problems := checkTree(tree, t, at)
	if len(problems) > 0 {
		return problems
	}
	data, err := json.Marshal(tree)
	if err == nil {
		err = json.Unmarshal(data, into)
	}
	if err != nil {
		return []fieldProblem{{Path: at, Message: trimJSONError(err)}}
	}
	return nil
}

// dropUnknown removes the fields reported unknown from tree (a copy is not made), so that the rest can be decoded.
func dropUnknown(tree any, base Path, problems []fieldProblem) {
	for _, p := range problems {
		if !p.Unknown || len(p.Path) <= len(base) {
			continue
		}
		rel := p.Path[len(base):]
		parent, ok := lookup(tree, rel[:len(rel)-1])
		if !ok {
			continue
		}
		if m, ok := parent.(map[string]any); ok {
			delete(m, rel[len(rel)-1])
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

type reflectType = reflect.Type

func reflectTypeOf(v any) reflect.Type { return reflect.TypeOf(v) }
