package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Import paths of the two packages the generator starts from.
const (
	valuesPkgPath = "istio.io/istio/operator/pkg/apis"
	meshPkgPath   = "istio.io/api/mesh/v1alpha1"
)

// Module roots that the loader maps to directories given on the command line.
const (
	istioModule    = "istio.io/istio"
	istioAPIModule = "istio.io/api"
)

// wellKnownPkgs maps the import paths of the protobuf well-known types (both the
// current google.golang.org/protobuf packages and the deprecated
// github.com/golang/protobuf aliases that istio.io/api still imports) to true.
// Types from these packages are mapped by name, see wellKnownType.
var wellKnownPkgs = map[string]bool{
	"google.golang.org/protobuf/types/known/wrapperspb":  true,
	"google.golang.org/protobuf/types/known/durationpb":  true,
	"google.golang.org/protobuf/types/known/structpb":    true,
	"google.golang.org/protobuf/types/known/anypb":       true,
	"google.golang.org/protobuf/types/known/emptypb":     true,
	"google.golang.org/protobuf/types/known/timestamppb": true,
	"github.com/golang/protobuf/ptypes/wrappers":         true,
	"github.com/golang/protobuf/ptypes/duration":         true,
	"github.com/golang/protobuf/ptypes/struct":           true,
	"github.com/golang/protobuf/ptypes/any":              true,
	"github.com/golang/protobuf/ptypes/empty":            true,
	"github.com/golang/protobuf/ptypes/timestamp":        true,
}

// goPackage is the parsed source of one protoc-gen-go output package.
type goPackage struct {
	path  string
	types map[string]*typeDecl
	// enumValues maps an enum Go type name to the names protojson accepts for it
	// (the keys of the generated <Enum>_value map, in source order).
	enumValues map[string][]string
	// oneofImpls maps the name of a oneof interface (isX_Y) to the wrapper
	// struct types implementing it, in declaration order.
	oneofImpls map[string][]string
}

// typeDecl is one type declaration of a goPackage.
type typeDecl struct {
	pkg     *goPackage
	name    string
	spec    *ast.TypeSpec
	doc     *ast.CommentGroup
	imports map[string]string // file-local import name -> import path
	order   int               // declaration order within the package
}

// loader parses packages on demand.
type loader struct {
	istioDir string
	apiDir   string
	pkgs     map[string]*goPackage
}

func newLoader(istioDir, apiDir string) *loader {
	return &loader{istioDir: istioDir, apiDir: apiDir, pkgs: map[string]*goPackage{}}
}

// dirOf maps an import path to a directory below one of the module directories.
func (l *loader) dirOf(path string) (string, error) {
	for _, m := range []struct{ mod, dir string }{{istioModule, l.istioDir}, {istioAPIModule, l.apiDir}} {
		if path == m.mod || strings.HasPrefix(path, m.mod+"/") {
			if m.dir == "" {
				return "", fmt.Errorf("package %s needed but no directory given for module %s", path, m.mod)
			}
			return filepath.Join(m.dir, filepath.FromSlash(strings.TrimPrefix(path, m.mod))), nil
		}
	}
	return "", fmt.Errorf("package %s is outside the modules the generator reads (%s, %s)", path, istioModule, istioAPIModule)
}

func (l *loader) load(path string) (*goPackage, error) {
	if p, ok := l.pkgs[path]; ok {
		return p, nil
	}
	dir, err := l.dirOf(path)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	p := &goPackage{
		path:       path,
		types:      map[string]*typeDecl{},
		enumValues: map[string][]string{},
		oneofImpls: map[string][]string{},
	}
	fset := token.NewFileSet()
	order := 0
	for _, n := range names {
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		imports := map[string]string{}
		for _, is := range f.Imports {
			ip, _ := strconv.Unquote(is.Path.Value)
			name := ip[strings.LastIndex(ip, "/")+1:]
			if is.Name != nil {
				name = is.Name.Name
			}
			imports[name] = ip
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				switch d.Tok {
				case token.TYPE:
					for _, s := range d.Specs {
						ts := s.(*ast.TypeSpec)
						doc := ts.Doc
						if doc == nil && len(d.Specs) == 1 {
							doc = d.Doc
						}
						order++
						p.types[ts.Name.Name] = &typeDecl{pkg: p, name: ts.Name.Name, spec: ts, doc: doc, imports: imports, order: order}
					}
				case token.VAR:
					for _, s := range d.Specs {
						collectEnumValues(p, s.(*ast.ValueSpec))
					}
				}
			case *ast.FuncDecl:
				// protoc-gen-go marks oneof wrapper types with an empty method
				// named after the oneof interface: func (*X_Y) isX_Z() {}.
				if d.Recv == nil || len(d.Recv.List) != 1 || !strings.HasPrefix(d.Name.Name, "is") {
					continue
				}
				if d.Type.Params.NumFields() != 0 || d.Type.Results.NumFields() != 0 {
					continue
				}
				star, ok := d.Recv.List[0].Type.(*ast.StarExpr)
				if !ok {
					continue
				}
				if id, ok := star.X.(*ast.Ident); ok {
					p.oneofImpls[d.Name.Name] = append(p.oneofImpls[d.Name.Name], id.Name)
				}
			}
		}
	}
	// Order oneof variants by declaration (protoc-gen-go declares them in field order).
	for k, v := range p.oneofImpls {
		sort.SliceStable(v, func(i, j int) bool { return p.types[v[i]].order < p.types[v[j]].order })
		p.oneofImpls[k] = v
	}
	l.pkgs[path] = p
	return p, nil
}

// collectEnumValues records the keys of a protoc-gen-go `<Enum>_value = map[string]int32{...}` variable.
func collectEnumValues(p *goPackage, vs *ast.ValueSpec) {
	if len(vs.Names) != 1 || len(vs.Values) != 1 || !strings.HasSuffix(vs.Names[0].Name, "_value") {
		return
	}
	cl, ok := vs.Values[0].(*ast.CompositeLit)
	if !ok {
		return
	}
	mt, ok := cl.Type.(*ast.MapType)
	if !ok {
		return
	}
	if k, ok := mt.Key.(*ast.Ident); !ok || k.Name != "string" {
		return
	}
	var names []string
	for _, e := range cl.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			return
		}
		bl, ok := kv.Key.(*ast.BasicLit)
		if !ok || bl.Kind != token.STRING {
			return
		}
		s, err := strconv.Unquote(bl.Value)
		if err != nil {
			return
		}
		names = append(names, s)
	}
	p.enumValues[strings.TrimSuffix(vs.Names[0].Name, "_value")] = names
}
