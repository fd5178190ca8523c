package main

import (
	"bytes"
	"fmt"
	"go/format"
	"sort"
	"strings"
	"unicode"
)

// config is the input of generate.
type config struct {
	// IstioDir is the directory of the istio.io/istio module.
	IstioDir string
	// APIDir is the directory of the istio.io/api module.
	APIDir string
	// Source describes the inputs (module versions) in the header of the generated file.
	Source string
	// Reserved are further type names not to emit (the identifiers declared by the
	// hand-written files of the output package).
	Reserved map[string]bool
}

// fieldOverride retypes one field of a message to another message.
type fieldOverride struct {
	pkg, typ, field string // the field to retype (Go names)
	toPkg, toType   string // the message it becomes
}

// fieldOverrides lists the fields whose Istio type is replaced. Values.meshConfig is an
// untyped google.protobuf.Value in values_types.proto; Istio reads it as MeshConfig.
var fieldOverrides = []fieldOverride{
	{valuesPkgPath, "Values", "MeshConfig", meshPkgPath, "MeshConfig"},
}

// specialMessage is a message that maps to an existing Go type instead of a generated one.
type specialMessage struct {
	goType     string
	importPath string
	importName string
}

// specialMessages maps "<import path>.<Go name>" to the type used for it. Istio's
// IntOrString marshals to JSON as a bare int or string (see value_types_json.go in
// the values package), exactly like the Kubernetes type.
var specialMessages = map[string]specialMessage{
	valuesPkgPath + ".IntOrString": {"intstr.IntOrString", "k8s.io/apimachinery/pkg/util/intstr", "intstr"},
}

const (
	importMetaV1   = "k8s.io/apimachinery/pkg/apis/meta/v1"
	importAPIExtV1 = "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// reservedNames are type names that the hand-written API of package v1 uses (or will use).
var reservedNames = map[string]bool{
	"Istio": true, "IstioSpec": true, "IstioStatus": true, "IstioList": true,
	"IstioRevision": true, "IstioRevisionSpec": true, "IstioRevisionStatus": true, "IstioRevisionList": true,
	"IstioCondition": true, "UpdateStrategy": true, "StatusCondition": true, "RevisionSummary": true,
	// package-level identifiers of groupversion_info.go
	"GroupVersion": true, "SchemeBuilder": true, "AddToScheme": true,
}

// reservedPrefixes are name prefixes reserved for hand-written kinds and their companions.
var reservedPrefixes = []string{"IstioRevisionTag", "IstioCNI", "ZTunnel"}

func (g *generator) isReserved(name string) bool {
	if reservedNames[name] || g.reserved[name] {
		return true
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

type generator struct {
	l        *loader
	fields   map[*typeDecl][]*protoField
	order    []*typeDecl // emitted messages, depth-first pre-order from the roots
	visited  map[*typeDecl]bool
	onStack  map[*typeDecl]bool
	names    map[*typeDecl]string
	imports  map[string]string // import path -> name
	cuts     []string          // fields cut to break type cycles, for the report
	reserved map[string]bool
}

func key(d *typeDecl) string { return d.pkg.path + "." + d.name }

// generate produces the Go source of the API types.
func generate(cfg config) ([]byte, error) {
	src, _, err := generateWithReport(cfg)
	return src, err
}

// generateWithReport is generate that also returns the fields cut to break type cycles.
func generateWithReport(cfg config) ([]byte, []string, error) {
	g := &generator{
		l:        newLoader(cfg.IstioDir, cfg.APIDir),
		fields:   map[*typeDecl][]*protoField{},
		visited:  map[*typeDecl]bool{},
		onStack:  map[*typeDecl]bool{},
		names:    map[*typeDecl]string{},
		imports:  map[string]string{},
		reserved: cfg.Reserved,
	}
	vp, err := g.l.load(valuesPkgPath)
	if err != nil {
		return nil, nil, err
	}
	root, ok := vp.types["Values"]
	if !ok {
		return nil, nil, fmt.Errorf("%s: no Values type", valuesPkgPath)
	}
	if err := g.walk(root); err != nil {
		return nil, nil, err
	}
	if err := g.assignNames(); err != nil {
		return nil, nil, err
	}
	src, err := g.render(cfg)
	return src, g.cuts, err
}

func (g *generator) walk(d *typeDecl) error {
	g.visited[d] = true
	g.onStack[d] = true
	g.order = append(g.order, d)
	fields, err := g.l.messageFields(d)
	if err != nil {
		return err
	}
	for _, o := range fieldOverrides {
		if d.pkg.path != o.pkg || d.name != o.typ {
			continue
		}
		found := false
		for _, f := range fields {
			if f.goName != o.field {
				continue
			}
			p, err := g.l.load(o.toPkg)
			if err != nil {
				return err
			}
			td, ok := p.types[o.toType]
			if !ok {
				return fmt.Errorf("override target %s.%s not found", o.toPkg, o.toType)
			}
			f.shape = shape{elem: typeRef{kind: kindMessage, decl: td}}
			found = true
		}
		if !found {
			return fmt.Errorf("override: field %s.%s.%s not found", o.pkg, o.typ, o.field)
		}
	}
	for _, f := range fields {
		if f.shape.elem.kind != kindMessage {
			continue
		}
		t := f.shape.elem.decl
		if _, ok := specialMessages[key(t)]; ok {
			continue
		}
		if g.onStack[t] {
			f.cut = true
			g.cuts = append(g.cuts, fmt.Sprintf("%s.%s (-> %s)", key(d), f.goName, key(t)))
			continue
		}
		if !g.visited[t] {
			if err := g.walk(t); err != nil {
				return err
			}
		}
	}
	g.fields[d] = fields
	g.onStack[d] = false
	return nil
}

func pkgPriority(path string) int {
	switch path {
	case valuesPkgPath:
		return 0
	case meshPkgPath:
		return 1
	}
	return 2
}

// prefixes returns the prefixes tried, in order, when a type name collides:
// the camel-cased first element of the package path below the module (or
// "Values" for Istio's values package), then all elements of it camel-cased
// and joined ("mesh/v1alpha1" gives "Mesh", then "MeshV1alpha1").
func prefixes(path string) []string {
	if path == valuesPkgPath {
		return []string{"Values", "OperatorValues"}
	}
	rest := path
	for _, m := range []string{istioAPIModule, istioModule} {
		if r, ok := strings.CutPrefix(path, m+"/"); ok {
			rest = r
			break
		}
	}
	var camel []string
	for _, e := range strings.Split(rest, "/") {
		r := []rune(e)
		if len(r) == 0 {
			continue
		}
		r[0] = unicode.ToUpper(r[0])
		camel = append(camel, string(r))
	}
	if len(camel) == 0 {
		return nil
	}
	return []string{camel[0], strings.Join(camel, "")}
}

// assignNames names the emitted types: the Go name with underscores removed
// (MeshConfig_OutboundTrafficPolicy -> MeshConfigOutboundTrafficPolicy). Types are
// named in order of package (values package, then mesh package, then the other
// packages by import path) and Go name; a type whose name is reserved or taken
// gets the first free name among the package prefixes + name.
func (g *generator) assignNames() error {
	decls := append([]*typeDecl(nil), g.order...)
	sort.Slice(decls, func(i, j int) bool {
		a, b := decls[i], decls[j]
		if pa, pb := pkgPriority(a.pkg.path), pkgPriority(b.pkg.path); pa != pb {
			return pa < pb
		}
		if a.pkg.path != b.pkg.path {
			return a.pkg.path < b.pkg.path
		}
		return a.name < b.name
	})
	taken := map[string]*typeDecl{}
	for _, d := range decls {
		base := strings.ReplaceAll(d.name, "_", "")
		candidates := []string{base}
		for _, p := range prefixes(d.pkg.path) {
			candidates = append(candidates, p+base)
		}
		name := ""
		for _, c := range candidates {
			if !g.isReserved(c) && taken[c] == nil {
				name = c
				break
			}
		}
		if name == "" {
			return fmt.Errorf("no free name for %s (tried %v)", key(d), candidates)
		}
		taken[name] = d
		g.names[d] = name
	}
	return nil
}

// elemType is the Go rendering of a field's element type.
type elemType struct {
	goType string
	// json is set for free-form JSON elements: "object", "array" or "any".
	json string
	// enum lists the values of an enum element.
	enum []string
	// bare is set for elements that stay non-pointer when singular outside a
	// oneof: proto3 strings (empty means unset), enums and bytes.
	bare bool
}

var wrapperScalars = map[string]string{
	"BoolValue": "bool", "StringValue": "string",
	"Int32Value": "int32", "UInt32Value": "uint32", "Int64Value": "int64", "UInt64Value": "uint64",
	"FloatValue": "float32", "DoubleValue": "float64",
}

func (g *generator) elem(f *protoField) (elemType, error) {
	if f.cut {
		return elemType{goType: g.use(importAPIExtV1, "apiextensionsv1") + ".JSON", json: "object"}, nil
	}
	r := f.shape.elem
	switch r.kind {
	case kindScalar:
		switch r.scalar {
		case "string", "[]byte":
			return elemType{goType: r.scalar, bare: true}, nil
		}
		return elemType{goType: r.scalar}, nil
	case kindEnum:
		return elemType{goType: "string", enum: r.decl.pkg.enumValues[r.decl.name], bare: true}, nil
	case kindMessage:
		if s, ok := specialMessages[key(r.decl)]; ok {
			g.use(s.importPath, s.importName)
			return elemType{goType: s.goType}, nil
		}
		return elemType{goType: g.names[r.decl]}, nil
	case kindWellKnown:
		if s, ok := wrapperScalars[r.wkt]; ok {
			return elemType{goType: s}, nil
		}
		switch r.wkt {
		case "BytesValue":
			return elemType{goType: "[]byte", bare: true}, nil
		case "Duration":
			return elemType{goType: g.use(importMetaV1, "metav1") + ".Duration"}, nil
		case "Timestamp":
			return elemType{goType: g.use(importMetaV1, "metav1") + ".Time"}, nil
		case "Struct", "Any", "Empty":
			return elemType{goType: g.use(importAPIExtV1, "apiextensionsv1") + ".JSON", json: "object"}, nil
		case "ListValue":
			return elemType{goType: g.use(importAPIExtV1, "apiextensionsv1") + ".JSON", json: "array"}, nil
		case "Value":
			return elemType{goType: g.use(importAPIExtV1, "apiextensionsv1") + ".JSON", json: "any"}, nil
		}
		return elemType{}, fmt.Errorf("unsupported well-known type google.protobuf.%s", r.wkt)
	}
	return elemType{}, fmt.Errorf("unsupported field type kind %d", r.kind)
}

func (g *generator) use(path, name string) string {
	g.imports[path] = name
	return name
}

// fieldType renders the Go type of a field and the markers that go with it.
func (g *generator) fieldType(f *protoField) (string, []string, error) {
	e, err := g.elem(f)
	if err != nil {
		return "", nil, err
	}
	var markers []string
	enumList := strings.Join(e.enum, ";")
	switch {
	case f.shape.repeated:
		if e.enum != nil {
			markers = append(markers, "+kubebuilder:validation:items:Enum="+enumList)
		}
		if e.json == "object" || e.json == "array" {
			markers = append(markers, "+kubebuilder:validation:items:Type="+e.json)
		}
		return "[]" + e.goType, markers, nil
	case f.shape.isMap:
		// controller-gen has no marker for map values; enum map values are not validated.
		return "map[" + f.shape.mapKey + "]" + e.goType, nil, nil
	}
	if e.enum != nil {
		markers = append(markers, "+kubebuilder:validation:Enum="+enumList)
	}
	if e.json != "" {
		markers = append(markers, "+kubebuilder:validation:Schemaless", "+kubebuilder:pruning:PreserveUnknownFields")
		if e.json != "any" {
			markers = append(markers, "+kubebuilder:validation:Type="+e.json)
		}
	}
	if e.goType == "[]byte" || (e.bare && f.oneof == "") {
		return e.goType, markers, nil
	}
	return "*" + e.goType, markers, nil
}

func (g *generator) render(cfg config) ([]byte, error) {
	var body strings.Builder
	for _, d := range g.order {
		name := g.names[d]
		lines, deprecated, hasDep := cleanDoc(d.doc)
		var doc []string
		switch {
		case len(lines) > 0 && strings.HasPrefix(lines[0], name+" "):
			doc = lines
		case len(lines) > 0 && strings.HasPrefix(lines[0], d.name+" "):
			doc = append([]string{name + strings.TrimPrefix(lines[0], d.name)}, lines[1:]...)
		default:
			doc = []string{fmt.Sprintf("%s mirrors %s of %s.", name, d.name, d.pkg.path)}
			if len(lines) > 0 {
				doc = append(doc, "")
				doc = append(doc, lines...)
			}
		}
		if deprecated && !hasDep {
			doc = append(doc, "", "Deprecated: Istio marks this message as deprecated.")
		}
		body.WriteString("\n")
		commentBlock(&body, "", doc)
		fmt.Fprintf(&body, "type %s struct {\n", name)
		for i, f := range g.fields[d] {
			typ, markers, err := g.fieldType(f)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", key(d), f.goName, err)
			}
			lines, deprecated, hasDep := cleanDoc(f.doc)
			if f.oneof != "" {
				if len(lines) > 0 {
					lines = append(lines, "")
				}
				lines = append(lines, "At most one of "+oneofMembers(g.fields[d], f.oneof)+" may be set.")
			}
			if f.cut {
				if len(lines) > 0 {
					lines = append(lines, "")
				}
				lines = append(lines, fmt.Sprintf("The type of this field (%s) is recursive, so its schema is not given here: it is kept as free-form JSON.", f.shape.elem.decl.name))
			}
			if deprecated && !hasDep {
				if len(lines) > 0 {
					lines = append(lines, "")
				}
				lines = append(lines, "Deprecated: Istio marks this field as deprecated.")
			}
			if i > 0 {
				body.WriteString("\n")
			}
			commentBlock(&body, "\t", lines)
			for _, m := range markers {
				body.WriteString("\t// " + m + "\n")
			}
			fmt.Fprintf(&body, "\t%s %s `json:\"%s,omitempty\"`\n", f.goName, typ, f.jsonName)
		}
		body.WriteString("}\n")
	}

	var out bytes.Buffer
	out.WriteString("// Code generated by hack/valuesgen. DO NOT EDIT.\n")
	if cfg.Source != "" {
		out.WriteString("// Source: " + cfg.Source + "\n")
	}
	out.WriteString("\npackage v1\n")
	if len(g.imports) > 0 {
		paths := make([]string, 0, len(g.imports))
		for p := range g.imports {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		out.WriteString("\nimport (\n")
		for _, p := range paths {
			fmt.Fprintf(&out, "\t%s %q\n", g.imports[p], p)
		}
		out.WriteString(")\n")
	}
	out.WriteString(body.String())
	src, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the generated code: %w\n%s", err, out.String())
	}
	return src, nil
}

// oneofMembers lists the json names of the fields of a oneof.
func oneofMembers(fields []*protoField, oneof string) string {
	var names []string
	for _, f := range fields {
		if f.oneof == oneof {
			names = append(names, f.jsonName)
		}
	}
	switch len(names) {
	case 1:
		return names[0]
	case 2:
		return names[0] + " and " + names[1]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
