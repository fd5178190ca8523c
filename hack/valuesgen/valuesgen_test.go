package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestGeneratedFileUpToDate regenerates api/v1/values_types.go from the module
// versions named in hack/gen-values.sh and compares it with the checked-in file.
func TestGeneratedFileUpToDate(t *testing.T) {
	script, err := os.ReadFile("../gen-values.sh")
	noErr(t, err)
	vars := map[string]string{}
	for _, name := range []string{"ISTIO_MODULE", "ISTIO_VERSION", "ISTIO_API_MODULE", "ISTIO_API_VERSION"} {
		m := regexp.MustCompile(`(?m)^` + name + `=(\S+)`).FindSubmatch(script)
		if m == nil {
			t.Fatalf("%s not set in hack/gen-values.sh", name)
		}
		vars[name] = string(m[1])
	}
	istioDir := moduleDir(t, vars["ISTIO_MODULE"], vars["ISTIO_VERSION"])
	apiDir := moduleDir(t, vars["ISTIO_API_MODULE"], vars["ISTIO_API_VERSION"])

	const outFile = "../../api/v1/values_types.go"
	reserved, err := declaredNames("../../api/v1")
	noErr(t, err)
	got, err := generate(config{
		IstioDir:    istioDir,
		APIDir:      apiDir,
		Source:      fmt.Sprintf("%s@%s %s@%s", vars["ISTIO_MODULE"], vars["ISTIO_VERSION"], vars["ISTIO_API_MODULE"], vars["ISTIO_API_VERSION"]),
		Reserved:    reserved,
		ChartFields: chartFields,
	})
	noErr(t, err)
	want, err := os.ReadFile(outFile)
	noErr(t, err)
	if !bytes.Equal(got, want) {
		gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gotLines) || i < len(wantLines); i++ {
			var gl, wl string
			if i < len(gotLines) {
				gl = gotLines[i]
			}
			if i < len(wantLines) {
				wl = wantLines[i]
			}
			if gl != wl {
				t.Fatalf("api/v1/values_types.go is out of date (run hack/gen-values.sh); first difference at line %d:\n  generated: %q\n  file:      %q", i+1, gl, wl)
			}
		}
	}
}

// moduleDir finds (downloading if needed) the directory of a module version.
func moduleDir(t *testing.T, module, version string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s@%s: %v\n%s%s", module, version, err, out, stderr.String())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("go mod download %s@%s: %v", module, version, err)
	}
	if info.Dir == "" {
		t.Fatalf("go mod download %s@%s: no directory: %s", module, version, info.Error)
	}
	return info.Dir
}

// Fake protoc-gen-go output for the mapping tests. Only what the generator reads
// is there: struct types with protobuf tags, enum value maps, oneof wrappers.
const fakeValues = `package apis

import (
	durationpb "google.golang.org/protobuf/types/known/durationpb"
	structpb "google.golang.org/protobuf/types/known/structpb"
	wrapperspb "google.golang.org/protobuf/types/known/wrapperspb"
)

type Mode int32

var (
	Mode_name = map[int32]string{0: "UNSPECIFIED", 1: "ON"}
	Mode_value = map[string]int32{"UNSPECIFIED": 0, "ON": 1}
)

// Values is the root of the values.
type Values struct {
	state protoimpl.MessageState
	// Whether it is on.
	// +kubebuilder:validation:Required
	// $hide_from_docs
	Enabled *wrapperspb.BoolValue ` + "`" + `protobuf:"bytes,1,opt,name=enabled,proto3" json:"enabled,omitempty"` + "`" + `
	Mode Mode ` + "`" + `protobuf:"varint,2,opt,name=mode,proto3,enum=x.Mode" json:"mode,omitempty"` + "`" + `
	Modes []Mode ` + "`" + `protobuf:"varint,3,rep,packed,name=modes,proto3,enum=x.Mode" json:"modes,omitempty"` + "`" + `
	Count uint32 ` + "`" + `protobuf:"varint,4,opt,name=count,proto3" json:"count,omitempty"` + "`" + `
	Ratio float64 ` + "`" + `protobuf:"fixed64,5,opt,name=ratio,proto3" json:"ratio,omitempty"` + "`" + `
	Name string ` + "`" + `protobuf:"bytes,6,opt,name=name,proto3" json:"name,omitempty"` + "`" + `
	Labels *structpb.Struct ` + "`" + `protobuf:"bytes,7,opt,name=labels,proto3" json:"labels,omitempty"` + "`" + `
	Tolerations []*structpb.Struct ` + "`" + `protobuf:"bytes,8,rep,name=tolerations,proto3" json:"tolerations,omitempty"` + "`" + `
	Tag *structpb.Value ` + "`" + `protobuf:"bytes,9,opt,name=tag,proto3" json:"tag,omitempty"` + "`" + `
	Timeout *durationpb.Duration ` + "`" + `protobuf:"bytes,10,opt,name=timeout,proto3" json:"timeout,omitempty"` + "`" + `
	MaxSurge *IntOrString ` + "`" + `protobuf:"bytes,11,opt,name=maxSurge,proto3" json:"maxSurge,omitempty"` + "`" + `
	Sub *Sub ` + "`" + `protobuf:"bytes,12,opt,name=sub,proto3" json:"sub,omitempty"` + "`" + `
	Subs []*Sub ` + "`" + `protobuf:"bytes,13,rep,name=subs,proto3" json:"subs,omitempty"` + "`" + `
	SubsByName map[string]*Sub ` + "`" + `protobuf:"bytes,14,rep,name=subs_by_name,json=subsByName,proto3" json:"subs_by_name,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"` + "`" + `
	// Old setting.
	//
	// Deprecated: Marked as deprecated in pkg/apis/values_types.proto.
	OldName string ` + "`" + `protobuf:"bytes,15,opt,name=old_name,json=oldName,proto3" json:"old_name,omitempty"` + "`" + `
	Gateway *Gateway ` + "`" + `protobuf:"bytes,16,opt,name=gateway,json=istio-gateway,proto3" json:"gateway,omitempty"` + "`" + `
	// Types that are valid to be assigned to Choice:
	//
	//	*Values_Text
	//	*Values_Number
	Choice isValues_Choice ` + "`" + `protobuf_oneof:"choice"` + "`" + `
	Proxy *ProxyConfig ` + "`" + `protobuf:"bytes,19,opt,name=proxy,proto3" json:"proxy,omitempty"` + "`" + `
	MeshConfig *structpb.Value ` + "`" + `protobuf:"bytes,20,opt,name=meshConfig,proto3" json:"meshConfig,omitempty"` + "`" + `
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

type isValues_Choice interface {
	isValues_Choice()
}

type Values_Text struct {
	// Free text.
	Text string ` + "`" + `protobuf:"bytes,17,opt,name=text,proto3,oneof"` + "`" + `
}

type Values_Number struct {
	// A number.
	Number int32 ` + "`" + `protobuf:"varint,18,opt,name=number,proto3,oneof"` + "`" + `
}

func (*Values_Text) isValues_Choice() {}

func (*Values_Number) isValues_Choice() {}

// A sub-configuration.
type Sub struct {
	Parent *Values ` + "`" + `protobuf:"bytes,1,opt,name=parent,proto3" json:"parent,omitempty"` + "`" + `
}

type Gateway struct {
	Name string ` + "`" + `protobuf:"bytes,1,opt,name=name,proto3" json:"name,omitempty"` + "`" + `
}

type IntOrString struct {
	Type int64 ` + "`" + `protobuf:"varint,1,opt,name=type,proto3" json:"type,omitempty"` + "`" + `
}

type ProxyConfig struct {
	Image string ` + "`" + `protobuf:"bytes,1,opt,name=image,proto3" json:"image,omitempty"` + "`" + `
}
`

const fakeMesh = `package v1alpha1

import (
	wrappers "github.com/golang/protobuf/ptypes/wrappers"
	v1alpha3 "istio.io/api/networking/v1alpha3"
)

// MeshConfig defines mesh-wide settings.
type MeshConfig struct {
	DefaultConfig *ProxyConfig ` + "`" + `protobuf:"bytes,1,opt,name=default_config,json=defaultConfig,proto3" json:"default_config,omitempty"` + "`" + `
	Istio *Istio ` + "`" + `protobuf:"bytes,2,opt,name=istio,proto3" json:"istio,omitempty"` + "`" + `
	Tls *v1alpha3.ClientTLSSettings ` + "`" + `protobuf:"bytes,3,opt,name=tls,proto3" json:"tls,omitempty"` + "`" + `
	Outbound *MeshConfig_OutboundTrafficPolicy ` + "`" + `protobuf:"bytes,4,opt,name=outbound,proto3" json:"outbound,omitempty"` + "`" + `
}

type MeshConfig_OutboundTrafficPolicy struct {
	Enabled *wrappers.BoolValue ` + "`" + `protobuf:"bytes,1,opt,name=enabled,proto3" json:"enabled,omitempty"` + "`" + `
}

type ProxyConfig struct {
	Concurrency *wrappers.Int32Value ` + "`" + `protobuf:"bytes,1,opt,name=concurrency,proto3" json:"concurrency,omitempty"` + "`" + `
}

type Istio struct {
	Name string ` + "`" + `protobuf:"bytes,1,opt,name=name,proto3" json:"name,omitempty"` + "`" + `
}
`

const fakeNetworking = `package v1alpha3

type ClientTLSSettings struct {
	Sni string ` + "`" + `protobuf:"bytes,1,opt,name=sni,proto3" json:"sni,omitempty"` + "`" + `
}
`

// writeFake writes the fake module trees and returns a config reading them.
func writeFake(t *testing.T) config {
	t.Helper()
	root := t.TempDir()
	for name, content := range map[string]string{
		"istio/operator/pkg/apis/values_types.pb.go":     fakeValues,
		"api/mesh/v1alpha1/config.pb.go":                 fakeMesh,
		"api/networking/v1alpha3/destination_rule.pb.go": fakeNetworking,
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return config{IstioDir: filepath.Join(root, "istio"), APIDir: filepath.Join(root, "api")}
}

// generateFake runs the generator on the fake packages.
func generateFake(t *testing.T) string {
	t.Helper()
	src, err := generate(writeFake(t))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// structFields parses generated source and returns, for the named struct, its
// fields' rendered type and doc comment (markers included) by Go field name.
func structFields(t *testing.T, src, typeName string) map[string][2]string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "gen.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != typeName {
			return true
		}
		for _, fld := range ts.Type.(*ast.StructType).Fields.List {
			var doc strings.Builder
			if fld.Doc != nil {
				for _, c := range fld.Doc.List {
					doc.WriteString(c.Text + "\n")
				}
			}
			out[fld.Names[0].Name] = [2]string{src[fset.Position(fld.Type.Pos()).Offset:fset.Position(fld.End()).Offset], doc.String()}
		}
		return false
	})
	if len(out) == 0 {
		t.Fatalf("no struct %s in generated source", typeName)
	}
	return out
}

func TestMappingRules(t *testing.T) {
	src := generateFake(t)
	hasPrefix(t, src, "// Code generated by hack/valuesgen. DO NOT EDIT.\n")
	fields := structFields(t, src, "Values")
	typ := func(name string) string { return fields[name][0] }
	doc := func(name string) string { return fields[name][1] }

	// wrappers and scalars
	eq(t, typ("Enabled"), "*bool `json:\"enabled,omitempty\"`")
	eq(t, typ("Count"), "*uint32 `json:\"count,omitempty\"`")
	eq(t, typ("Ratio"), "*float64 `json:\"ratio,omitempty\"`")
	eq(t, typ("Name"), "string `json:\"name,omitempty\"`")
	// enums become strings with the protojson names
	eq(t, typ("Mode"), "string `json:\"mode,omitempty\"`")
	contains(t, doc("Mode"), "// +kubebuilder:validation:Enum=UNSPECIFIED;ON\n")
	eq(t, typ("Modes"), "[]string `json:\"modes,omitempty\"`")
	contains(t, doc("Modes"), "// +kubebuilder:validation:items:Enum=UNSPECIFIED;ON\n")
	// free-form JSON
	eq(t, typ("Labels"), "*apiextensionsv1.JSON `json:\"labels,omitempty\"`")
	contains(t, doc("Labels"), "+kubebuilder:validation:Schemaless")
	contains(t, doc("Labels"), "+kubebuilder:pruning:PreserveUnknownFields")
	contains(t, doc("Labels"), "+kubebuilder:validation:Type=object")
	eq(t, typ("Tag"), "*apiextensionsv1.JSON `json:\"tag,omitempty\"`")
	contains(t, doc("Tag"), "+kubebuilder:pruning:PreserveUnknownFields")
	notContains(t, doc("Tag"), "validation:Type=")
	eq(t, typ("Tolerations"), "[]apiextensionsv1.JSON `json:\"tolerations,omitempty\"`")
	contains(t, doc("Tolerations"), "+kubebuilder:validation:items:Type=object")
	notContains(t, doc("Tolerations"), "Schemaless")
	// well-known and special types
	eq(t, typ("Timeout"), "*metav1.Duration `json:\"timeout,omitempty\"`")
	eq(t, typ("MaxSurge"), "*intstr.IntOrString `json:\"maxSurge,omitempty\"`")
	notContains(t, src, "type IntOrString struct")
	// messages, lists and maps
	eq(t, typ("Sub"), "*Sub `json:\"sub,omitempty\"`")
	eq(t, typ("Subs"), "[]Sub `json:\"subs,omitempty\"`")
	eq(t, typ("SubsByName"), "map[string]Sub `json:\"subsByName,omitempty\"`")
	// json names come from json= of the protobuf tag
	eq(t, typ("OldName"), "string `json:\"oldName,omitempty\"`")
	eq(t, typ("Gateway"), "*Gateway `json:\"istio-gateway,omitempty\"`")
	// oneofs are flattened into optional fields
	if _, ok := fields["Choice"]; ok {
		t.Errorf("oneof field Choice was not flattened")
	}
	eq(t, typ("Text"), "*string `json:\"text,omitempty\"`")
	eq(t, typ("Number"), "*int32 `json:\"number,omitempty\"`")
	contains(t, doc("Text"), "// Free text.\n")
	contains(t, doc("Text"), "At most one of text and number may be set.")
	// meshConfig is typed from istio.io/api
	eq(t, typ("MeshConfig"), "*MeshConfig `json:\"meshConfig,omitempty\"`")
}

func TestDocComments(t *testing.T) {
	src := generateFake(t)
	fields := structFields(t, src, "Values")
	eq(t, fields["Enabled"][1], "// Whether it is on.\n")
	eq(t, fields["OldName"][1], "// Old setting.\n//\n// Deprecated: Istio marks this field as deprecated.\n")
	contains(t, src, "// Values is the root of the values.\ntype Values struct")
	contains(t, src, "// Sub mirrors Sub of istio.io/istio/operator/pkg/apis.\n//\n// A sub-configuration.\ntype Sub struct")
	notContains(t, src, "Marked as deprecated")
	notContains(t, src, "hide_from_docs")
	notContains(t, src, "Required")
}

func TestTypeNames(t *testing.T) {
	src := generateFake(t)
	// the values package keeps its names; colliding mesh names get the Mesh prefix
	contains(t, src, "type ProxyConfig struct {\n\tImage string")
	hasPrefix(t, structFields(t, src, "MeshConfig")["DefaultConfig"][0], "*MeshProxyConfig ")
	// reserved names get the package prefix
	notContains(t, src, "type Istio struct")
	hasPrefix(t, structFields(t, src, "MeshConfig")["Istio"][0], "*MeshIstio ")
	// nested messages lose their underscores; other packages are followed
	hasPrefix(t, structFields(t, src, "MeshConfig")["Outbound"][0], "*MeshConfigOutboundTrafficPolicy ")
	hasPrefix(t, structFields(t, src, "MeshConfig")["Tls"][0], "*ClientTLSSettings ")
	hasPrefix(t, structFields(t, src, "MeshProxyConfig")["Concurrency"][0], "*int32 ")
}

func TestTypeCycleIsCut(t *testing.T) {
	out, rep, err := generateWithReport(writeFake(t))
	noErr(t, err)
	src := string(out)
	eq(t, rep.cuts, []string{"istio.io/istio/operator/pkg/apis.Sub.Parent (-> istio.io/istio/operator/pkg/apis.Values)"})
	parent := structFields(t, src, "Sub")["Parent"]
	hasPrefix(t, parent[0], "*apiextensionsv1.JSON ")
	contains(t, parent[1], "+kubebuilder:validation:Type=object")
	contains(t, parent[1], "is recursive")
}

func TestReservedFromPackage(t *testing.T) {
	dir := t.TempDir()
	noErr(t, os.WriteFile(filepath.Join(dir, "a.go"), []byte("package v1\n\ntype Gateway struct{}\n\nvar X = 1\n"), 0o644))
	noErr(t, os.WriteFile(filepath.Join(dir, "values_types.go"), []byte(generatedHeader+"\npackage v1\n\ntype Old struct{}\n"), 0o644))
	noErr(t, os.WriteFile(filepath.Join(dir, "zz_generated.deepcopy.go"), []byte("package v1\n\ntype Deep struct{}\n"), 0o644))
	names, err := declaredNames(dir)
	noErr(t, err)
	eq(t, names, map[string]bool{"Gateway": true, "X": true})
}

func TestReservedNamesArePrefixed(t *testing.T) {
	cfg := writeFake(t)
	cfg.Reserved = map[string]bool{"Gateway": true}
	src, err := generate(cfg)
	noErr(t, err)
	hasPrefix(t, structFields(t, string(src), "Values")["Gateway"][0], "*ValuesGateway ")
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func eq[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func contains(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}

func notContains(t *testing.T, s, sub string) {
	t.Helper()
	if strings.Contains(s, sub) {
		t.Errorf("%q contains %q", s, sub)
	}
}

func hasPrefix(t *testing.T, s, prefix string) {
	t.Helper()
	if !strings.HasPrefix(s, prefix) {
		t.Errorf("%q does not start with %q", s, prefix)
	}
}

func TestChartFieldsAreAppended(t *testing.T) {
	cfg := writeFake(t)
	cfg.ChartFields = []chartField{
		{"Gateway", "Annotations", "annotations", "stringMap", "Annotations of the gateway."},
		{"Gateway", "Selectors", "selectors", "objects", "Selectors."},
		{"Gateway", "Retry", "retry", "bool", "Whether to retry."},
	}
	src, err := generate(cfg)
	noErr(t, err)
	fields := structFields(t, string(src), "Gateway")
	eq(t, fields["Annotations"][0], "map[string]string `json:\"annotations,omitempty\"`")
	eq(t, fields["Annotations"][1], "// Annotations of the gateway.\n//\n// "+chartFieldNote+"\n")
	eq(t, fields["Selectors"][0], "[]apiextensionsv1.JSON `json:\"selectors,omitempty\"`")
	contains(t, fields["Selectors"][1], "+kubebuilder:validation:items:Type=object")
	eq(t, fields["Retry"][0], "*bool `json:\"retry,omitempty\"`")
	hasPrefix(t, fields["Name"][0], "string ") // the proto's own fields stay
}

func TestChartFieldsMustBeMissingFromTheSchema(t *testing.T) {
	for _, c := range []chartField{
		{"Gateway", "Name", "name", "string", "Already in the proto."},
		{"Nowhere", "Name", "name", "string", "Of a message the proto lacks."},
		{"Gateway", "Odd", "odd", "float", "Of an unknown kind."},
	} {
		cfg := writeFake(t)
		cfg.ChartFields = []chartField{c}
		if _, err := generate(cfg); err == nil {
			t.Errorf("chart field %s.%s (%s) was accepted", c.message, c.jsonName, c.doc)
		}
	}
}
