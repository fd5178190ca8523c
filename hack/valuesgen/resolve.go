package main

import (
	"fmt"
	"go/ast"
	"reflect"
	"strings"
)

type refKind int

const (
	kindScalar    refKind = iota // a Go builtin type; bytes is "[]byte"
	kindEnum                     // a protobuf enum (a named int32 with an <Enum>_value map)
	kindMessage                  // a protobuf message (a struct)
	kindWellKnown                // a google.protobuf well-known type, see wkt
	kindOneof                    // a oneof interface (isX_Y)
)

// typeRef is a resolved named or builtin type used by a field.
type typeRef struct {
	kind   refKind
	scalar string    // kindScalar
	decl   *typeDecl // kindEnum, kindMessage, kindOneof
	wkt    string    // kindWellKnown: BoolValue, Duration, Struct, Value, ...
}

// shape is the container structure of a field around its element type.
type shape struct {
	repeated bool
	isMap    bool
	mapKey   string
	elem     typeRef
}

var builtinScalars = map[string]bool{
	"string": true, "bool": true,
	"int32": true, "int64": true, "uint32": true, "uint64": true,
	"float32": true, "float64": true,
}

// resolveExpr resolves a (non-container) type expression appearing in decl's file.
func (l *loader) resolveExpr(ctx *typeDecl, e ast.Expr) (typeRef, error) {
	switch e := e.(type) {
	case *ast.StarExpr:
		return l.resolveExpr(ctx, e.X)
	case *ast.Ident:
		if builtinScalars[e.Name] {
			return typeRef{kind: kindScalar, scalar: e.Name}, nil
		}
		d, ok := ctx.pkg.types[e.Name]
		if !ok {
			return typeRef{}, fmt.Errorf("%s: unknown type %s", ctx.pkg.path, e.Name)
		}
		return l.classify(d)
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		if !ok {
			return typeRef{}, fmt.Errorf("%s: unsupported type expression", ctx.pkg.path)
		}
		path, ok := ctx.imports[x.Name]
		if !ok {
			return typeRef{}, fmt.Errorf("%s: unknown import %s", ctx.pkg.path, x.Name)
		}
		if wellKnownPkgs[path] {
			return typeRef{kind: kindWellKnown, wkt: e.Sel.Name}, nil
		}
		p, err := l.load(path)
		if err != nil {
			return typeRef{}, err
		}
		d, ok := p.types[e.Sel.Name]
		if !ok {
			return typeRef{}, fmt.Errorf("%s: unknown type %s", path, e.Sel.Name)
		}
		return l.classify(d)
	case *ast.ArrayType:
		if id, ok := e.Elt.(*ast.Ident); ok && id.Name == "byte" && e.Len == nil {
			return typeRef{kind: kindScalar, scalar: "[]byte"}, nil
		}
	}
	return typeRef{}, fmt.Errorf("%s: unsupported type expression %T", ctx.pkg.path, e)
}

// classify resolves type aliases and tells what kind of protobuf type a declaration is.
func (l *loader) classify(d *typeDecl) (typeRef, error) {
	if d.spec.Assign.IsValid() { // type X = other.X
		return l.resolveExpr(d, d.spec.Type)
	}
	switch t := d.spec.Type.(type) {
	case *ast.StructType:
		return typeRef{kind: kindMessage, decl: d}, nil
	case *ast.InterfaceType:
		return typeRef{kind: kindOneof, decl: d}, nil
	case *ast.Ident:
		if t.Name == "int32" {
			if _, ok := d.pkg.enumValues[d.name]; ok {
				return typeRef{kind: kindEnum, decl: d}, nil
			}
		}
	}
	return typeRef{}, fmt.Errorf("%s.%s: not a protobuf message, enum or oneof", d.pkg.path, d.name)
}

// resolveShape resolves a field type expression into its container shape.
func (l *loader) resolveShape(ctx *typeDecl, e ast.Expr) (shape, error) {
	var s shape
	switch t := e.(type) {
	case *ast.ArrayType:
		if id, ok := t.Elt.(*ast.Ident); ok && id.Name == "byte" {
			break // bytes
		}
		s.repeated = true
		e = t.Elt
	case *ast.MapType:
		k, ok := t.Key.(*ast.Ident)
		if !ok || !builtinScalars[k.Name] {
			return s, fmt.Errorf("%s: unsupported map key", ctx.pkg.path)
		}
		s.isMap, s.mapKey = true, k.Name
		e = t.Value
	}
	ref, err := l.resolveExpr(ctx, e)
	if err != nil {
		return s, err
	}
	s.elem = ref
	return s, nil
}

// protoField is an exported field of a message, with its oneof wrapper
// flattened away.
type protoField struct {
	goName   string
	jsonName string
	doc      *ast.CommentGroup
	shape    shape
	oneof    string // proto name of the oneof the field belongs to, if any
	cut      bool   // emitted as schemaless JSON to break a type cycle
}

// jsonNameOf returns the name protojson uses for a field: the json= part of the
// protobuf struct tag, else its name= part (protoc-gen-go leaves json= out when
// the two are the same), else the name in the json tag.
func jsonNameOf(tag string) string {
	st := reflect.StructTag(tag)
	if pb, ok := st.Lookup("protobuf"); ok {
		name := ""
		for _, part := range strings.Split(pb, ",") {
			if v, ok := strings.CutPrefix(part, "json="); ok {
				return v
			}
			if v, ok := strings.CutPrefix(part, "name="); ok {
				name = v
			}
		}
		if name != "" {
			return name
		}
	}
	if j, ok := st.Lookup("json"); ok {
		if n, _, _ := strings.Cut(j, ","); n != "" && n != "-" {
			return n
		}
	}
	return ""
}

// messageFields returns the fields of a message as protojson sees them.
func (l *loader) messageFields(d *typeDecl) ([]*protoField, error) {
	st := d.spec.Type.(*ast.StructType)
	var out []*protoField
	for _, f := range st.Fields.List {
		if len(f.Names) != 1 || !f.Names[0].IsExported() {
			continue // embedded or unexported (state, sizeCache, unknownFields)
		}
		tag := ""
		if f.Tag != nil {
			tag = strings.Trim(f.Tag.Value, "`")
		}
		if oneofName, ok := reflect.StructTag(tag).Lookup("protobuf_oneof"); ok {
			ref, err := l.resolveExpr(d, f.Type)
			if err != nil {
				return nil, err
			}
			if ref.kind != kindOneof {
				return nil, fmt.Errorf("%s.%s.%s: protobuf_oneof field is not an interface", d.pkg.path, d.name, f.Names[0].Name)
			}
			variants := ref.decl.pkg.oneofImpls[ref.decl.name]
			if len(variants) == 0 {
				return nil, fmt.Errorf("%s.%s: oneof %s has no variants", d.pkg.path, d.name, oneofName)
			}
			for _, vn := range variants {
				vd := ref.decl.pkg.types[vn]
				vst, ok := vd.spec.Type.(*ast.StructType)
				if !ok || len(vst.Fields.List) != 1 || len(vst.Fields.List[0].Names) != 1 {
					return nil, fmt.Errorf("%s.%s: unexpected oneof wrapper", vd.pkg.path, vn)
				}
				vf := vst.Fields.List[0]
				pf, err := l.field(vd, vf)
				if err != nil {
					return nil, err
				}
				pf.oneof = oneofName
				out = append(out, pf)
			}
			continue
		}
		pf, err := l.field(d, f)
		if err != nil {
			return nil, fmt.Errorf("%s.%s.%s: %w", d.pkg.path, d.name, f.Names[0].Name, err)
		}
		out = append(out, pf)
	}
	return out, nil
}

func (l *loader) field(ctx *typeDecl, f *ast.Field) (*protoField, error) {
	tag := ""
	if f.Tag != nil {
		tag = strings.Trim(f.Tag.Value, "`")
	}
	s, err := l.resolveShape(ctx, f.Type)
	if err != nil {
		return nil, err
	}
	jn := jsonNameOf(tag)
	if jn == "" {
		return nil, fmt.Errorf("no json name for field %s", f.Names[0].Name)
	}
	return &protoField{goName: f.Names[0].Name, jsonName: jn, doc: f.Doc, shape: s}, nil
}
