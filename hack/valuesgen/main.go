// Command valuesgen generates the Go API types of the Istio Helm values
// (api/v1/values_types.go) from Istio's own protobuf schema.
//
// It parses, with go/parser and without importing them, the protoc-gen-go
// output of
//
//   - istio.io/istio/operator/pkg/apis (values_types.pb.go: Values, GlobalConfig,
//     PilotConfig, CNIConfig, ...), and
//   - istio.io/api/mesh/v1alpha1 (MeshConfig, ProxyConfig, ...) together with the
//     istio.io/api packages the MeshConfig type graph reaches (networking/v1alpha3,
//     networking/v1beta1).
//
// and emits every message reachable from Values as a Go struct of package v1.
// Values.meshConfig, an untyped google.protobuf.Value in values_types.proto, is
// emitted as the MeshConfig message of istio.io/api.
//
// Usage:
//
//	go run ./hack/valuesgen -istio-dir DIR -api-dir DIR [-source TEXT] [-reserve-from DIR] [-out FILE] [-v]
//
// where the directories are those of the istio.io/istio and istio.io/api modules
// (hack/gen-values.sh finds them with go mod download -json), -source is recorded
// in the header of the output, -reserve-from names the output package's directory
// (see Type names) and -v prints which Istio type each emitted type mirrors.
//
// # Type names
//
// A message keeps its Go name with the underscores of nested messages removed
// (MeshConfig_ExtensionProvider becomes MeshConfigExtensionProvider). Names are
// handed out in this order: the values package first, then the mesh package,
// then any other package by import path; within a package by Go name. A name
// that is already taken, or reserved for the hand-written API (Istio, IstioSpec,
// IstioRevision*, IstioCNI*, ZTunnel*, ..., and any identifier declared by a
// hand-written file of the -reserve-from directory), gets the package prefix: "Values"
// for the values package, otherwise the camel-cased first element of the
// package path below istio.io/api ("Mesh" for mesh/v1alpha1, "Networking" for
// networking/v1alpha3); if that is taken too, all path elements joined
// ("MeshV1alpha1"). So the mesh ProxyConfig becomes MeshProxyConfig.
//
// # Field mapping
//
//   - json name: the protojson name (json= of the protobuf tag, else name=),
//     always with omitempty. Go field names are kept.
//   - proto3 string: string; bytes: []byte; bool, integers and floating point:
//     pointers (*bool, *int32, *uint32, *int64, *uint64, *float32, *float64).
//     Floats need controller-gen's crd:allowDangerousTypes=true.
//   - wrappers (google.protobuf.BoolValue, ...): a pointer to the scalar.
//   - google.protobuf.Duration: *metav1.Duration; Timestamp: *metav1.Time.
//   - enums: string with a +kubebuilder:validation:Enum marker listing the names
//     protojson accepts (items:Enum for repeated enums; map values are not validated).
//   - google.protobuf.Struct, Any, Empty: *apiextensionsv1.JSON, schemaless,
//     preserving unknown fields, of type object; ListValue: the same with type
//     array; Value: the same without a type (any JSON value). Repeated ones are
//     []apiextensionsv1.JSON (an array whose items preserve unknown fields, with
//     items of type object for Struct); map values are not given a type.
//   - Istio's IntOrString message: *intstr.IntOrString (it marshals as a bare
//     int or string).
//   - messages: pointers; repeated: slices of values; maps: maps of values.
//   - oneofs: each member becomes an optional (pointer) field of the enclosing
//     struct with the member's json name, as protojson renders them; the doc
//     comment of each says that at most one of the members may be set (this is
//     not validated by the schema).
//   - a field whose message type is already being expanded further up (a type
//     cycle) is cut: it becomes schemaless JSON of type object, and says so in its
//     doc comment. The generator prints the cut fields on stderr.
//
// # Chart fields
//
// Istio's charts read some settings that values_types.proto lacks (istiod's
// trustedZtunnelName, the OpenShift profile's terminationMessagePolicy, ...).
// chartFields lists them; each is appended to its message with a doc comment that
// says so. The generator fails when one of them appears in the proto.
//
// Doc comments are carried over from the protos. Lines that look like markers
// (starting with "+": Istio's own +kubebuilder, +cue-gen, +protoc-gen-crd
// annotations), lines starting with "TODO", HTML comments and "$hide_from_docs"
// are dropped;
// protoc-gen-go's "Deprecated: Marked as deprecated in ..." line is replaced by a
// "Deprecated:" paragraph.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	cfg := config{ChartFields: chartFields}
	out := flag.String("out", "-", "output file, - for stdout")
	flag.StringVar(&cfg.IstioDir, "istio-dir", "", "directory of the istio.io/istio module")
	flag.StringVar(&cfg.APIDir, "api-dir", "", "directory of the istio.io/api module")
	flag.StringVar(&cfg.Source, "source", "", "description of the inputs, written into the header of the output")
	verbose := flag.Bool("v", false, "print the emitted type names and the Go types they mirror on stderr")
	reserveFrom := flag.String("reserve-from", "", "directory of the output package: the top-level identifiers declared by its hand-written Go files are not used as type names")
	flag.Parse()
	if cfg.IstioDir == "" || cfg.APIDir == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *reserveFrom != "" {
		var err error
		cfg.Reserved, err = declaredNames(*reserveFrom)
		if err != nil {
			fmt.Fprintln(os.Stderr, "valuesgen:", err)
			os.Exit(1)
		}
	}
	src, rep, err := generateWithReport(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "valuesgen:", err)
		os.Exit(1)
	}
	for _, c := range rep.cuts {
		fmt.Fprintln(os.Stderr, "valuesgen: cut type cycle at", c)
	}
	if *verbose {
		names := make([]string, 0, len(rep.names))
		for n := range rep.names {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(os.Stderr, "valuesgen: %s <- %s\n", n, rep.names[n])
		}
	}
	if *out == "-" {
		_, err = os.Stdout.Write(src)
	} else {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "valuesgen:", err)
		os.Exit(1)
	}
}

// declaredNames returns the top-level identifiers declared in the Go files of dir,
// except in files generated by this generator and in deepcopy code.
func declaredNames(dir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || strings.HasPrefix(n, "zz_generated") {
			continue
		}
		path := filepath.Join(dir, n)
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(string(src), generatedHeader) {
			continue
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range gd.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					names[s.Name.Name] = true
				case *ast.ValueSpec:
					for _, id := range s.Names {
						names[id.Name] = true
					}
				}
			}
		}
	}
	return names, nil
}
