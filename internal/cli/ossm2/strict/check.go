package strict

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
)

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	schemaType      = reflect.TypeFor[Schema]()
)

// checker collects the problems of one Check.
type checker struct {
	problems []Problem
}

// wrong reports that v at path at is not what type t wants.
func (c *checker) wrong(at fieldpath.Path, v any, want string) {
	c.problems = append(c.problems, Problem{Path: at, Message: fmt.Sprintf("expected %s, got %s", want, Describe(v))})
}

// value checks v against t.
func (c *checker) value(v any, t reflect.Type, at fieldpath.Path) {
	if v == nil {
		return
	}
	if t.Kind() != reflect.Pointer && t.Implements(schemaType) {
		c.value(v, reflect.Zero(t).Interface().(Schema).StrictSchema(), at)
		return
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		c.unmarshaler(v, t, at)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		c.value(v, t.Elem(), at)
	case reflect.Interface:
	case reflect.Struct:
		c.structValue(v, t, at)
	case reflect.Map:
		c.mapValue(v, t, at)
	case reflect.Slice, reflect.Array:
		c.listValue(v, t, at)
	default:
		c.scalar(v, t, at)
	}
}

// unmarshaler hands v to the json.Unmarshaler of type t.
func (c *checker) unmarshaler(v any, t reflect.Type, at fieldpath.Path) {
	data, err := json.Marshal(v)
	if err == nil {
		err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(data)
	}
	if err != nil {
		c.problems = append(c.problems, Problem{Path: at, Message: fmt.Sprintf("invalid value %s: %v",
			Describe(v), TrimError(err))})
	}
}

func (c *checker) structValue(v any, t reflect.Type, at fieldpath.Path) {
	m, ok := v.(map[string]any)
	if !ok {
		c.wrong(at, v, "an object")
		return
	}
	fields := structFields(t)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ft, ok := fields[k]
		if !ok {
			c.problems = append(c.problems, Problem{Path: at.Child(k), Unknown: true, Message: "unknown field"})
			continue
		}
		c.value(m[k], ft, at.Child(k))
	}
}

func (c *checker) mapValue(v any, t reflect.Type, at fieldpath.Path) {
	m, ok := v.(map[string]any)
	if !ok {
		c.wrong(at, v, "an object")
		return
	}
	if t.Key().Kind() != reflect.String {
		c.wrong(at, v, "an object with "+t.Key().Kind().String()+" keys")
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		c.value(m[k], t.Elem(), at.Child(k))
	}
}

func (c *checker) listValue(v any, t reflect.Type, at fieldpath.Path) {
	l, ok := v.([]any)
	if !ok {
		if _, isString := v.(string); isString && t.Elem().Kind() == reflect.Uint8 {
			return // []byte is base64 text
		}
		c.wrong(at, v, "a list")
		return
	}
	for i, e := range l {
		c.value(e, t.Elem(), at.Index(i))
	}
}

// scalar checks strings, booleans and numbers.
func (c *checker) scalar(v any, t reflect.Type, at fieldpath.Path) {
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			c.wrong(at, v, "a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			c.wrong(at, v, "a boolean (true or false)")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		c.integer(v, t, at, "an integer", func(s string) error { _, err := strconv.ParseInt(s, 10, t.Bits()); return err })
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		c.integer(v, t, at, "a non-negative integer", func(s string) error {
			_, err := strconv.ParseUint(s, 10, t.Bits())
			return err
		})
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			c.wrong(at, v, "a number")
		}
	default:
		c.wrong(at, v, t.Kind().String())
	}
}

// integer checks that v is a whole number that parse accepts; want names the kind of integer.
func (c *checker) integer(v any, t reflect.Type, at fieldpath.Path, want string, parse func(string) error) {
	n, ok := v.(json.Number)
	switch {
	case !ok, strings.ContainsAny(n.String(), ".eE"):
		c.wrong(at, v, want)
	case parse(n.String()) != nil:
		c.wrong(at, v, fmt.Sprintf("%s that fits in %d bits", want, t.Bits()))
	}
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
		addField(out, t.Field(i))
	}
	fieldCache.Store(t, out)
	return out
}

// addField adds one struct field (or the fields of an inlined struct) to fields.
func addField(fields map[string]reflect.Type, f reflect.StructField) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return
	}
	name, _, _ := strings.Cut(tag, ",")
	if f.Anonymous && name == "" {
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			for k, v := range structFields(ft) {
				if _, dup := fields[k]; !dup {
					fields[k] = v
				}
			}
			return
		}
	}
	if !f.IsExported() {
		return
	}
	if name == "" {
		name = f.Name
	}
	fields[name] = f.Type
}
