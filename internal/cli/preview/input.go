// Package preview computes, offline, the objects the Sail operator would apply for a set of Sail resources
// (Istio, IstioRevision, IstioCNI, ZTunnel, IstioRevisionTag) read from files, through the operator's own code:
// the Istio controller's revision spec, the controllers' Render functions and the applier's Prepare. sailctl
// render prints them and sailctl diff compares them with a cluster.
package preview

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/cli/ossm2"
)

// StdinName is the file name that reads standard input.
const StdinName = "-"

// Resource is one Sail resource read from a file, defaulted like the API server does on create.
type Resource struct {
	// File and Index (1-based) say where the resource was read.
	File  string
	Index int
	// Object is an *sailv1.Istio, IstioRevision, IstioCNI, ZTunnel or IstioRevisionTag.
	Object client.Object
}

// Where names the resource's origin for messages, e.g. "istio.yaml document 2 (Istio default)".
func (r Resource) Where() string {
	return fmt.Sprintf("%s document %d (%s %s)", r.File, r.Index, kindOf(r.Object), r.Object.GetName())
}

// InputError is an invalid input document.
type InputError struct {
	File  string
	Index int
	// Problems each start with the field they are about.
	Problems []string
}

// Error implements error.
func (e *InputError) Error() string {
	return fmt.Sprintf("%s document %d: %s", e.File, e.Index, strings.Join(e.Problems, "; "))
}

// Read reads the Sail resources of files (- reads stdin), checking each against its CRD schema (embedded in
// sailctl) and applying the schema's defaults. All invalid documents are reported, as *InputError joined.
func Read(files []string, stdin io.Reader) ([]Resource, error) {
	schemas, err := ossm2.LoadSchemas(ossm2.OfflineOptions{})
	if err != nil {
		return nil, err
	}
	var out []Resource
	var errs []error
	for _, f := range files {
		data, err := readFile(f, stdin)
		if err != nil {
			return nil, err
		}
		res, fileErrs := parse(displayName(f), data, schemas)
		out = append(out, res...)
		errs = append(errs, fileErrs...)
	}
	if len(errs) == 0 && len(out) == 0 {
		return nil, errors.New("the input has no Sail resources (Istio, IstioRevision, IstioCNI, ZTunnel, IstioRevisionTag)")
	}
	return out, errors.Join(errs...)
}

func readFile(name string, stdin io.Reader) ([]byte, error) {
	if name == StdinName {
		return io.ReadAll(stdin)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return data, nil
}

// parse decodes the documents of one file; empty documents are skipped but counted.
func parse(file string, data []byte, schemas *ossm2.SchemaSet) ([]Resource, []error) {
	dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []Resource
	var errs []error
	for index := 1; ; index++ {
		doc, err := dec.Read()
		if errors.Is(err, io.EOF) {
			return out, errs
		}
		if err != nil {
			return out, append(errs, &InputError{File: file, Index: index, Problems: []string{err.Error()}})
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			errs = append(errs, &InputError{File: file, Index: index, Problems: []string{err.Error()}})
			continue
		}
		if len(obj) == 0 {
			index--
			continue
		}
		res, problems := decode(obj, schemas)
		if len(problems) > 0 {
			errs = append(errs, &InputError{File: file, Index: index, Problems: problems})
			continue
		}
		out = append(out, Resource{File: file, Index: index, Object: res})
	}
}

// decode checks and defaults one document and decodes it into its Sail type.
func decode(obj map[string]any, schemas *ossm2.SchemaSet) (client.Object, []string) {
	typed := newObject(obj)
	if typed == nil {
		return nil, []string{fmt.Sprintf("kind: %v %v is not a Sail resource; give Istio, IstioRevision, IstioCNI, "+
			"ZTunnel or IstioRevisionTag of %s", obj["apiVersion"], obj["kind"], sailv1.GroupVersion)}
	}
	admitted, problems, known := schemas.Admit(obj)
	if !known {
		return nil, []string{fmt.Sprintf("apiVersion: %v is not served by this sailctl; use %s", obj["apiVersion"], sailv1.GroupVersion)}
	}
	if meta, _ := admitted["metadata"].(map[string]any); meta["name"] == nil || meta["name"] == "" {
		problems = append(problems, "metadata.name: Required value")
	}
	if len(problems) > 0 {
		return nil, problems
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(admitted, typed, true); err != nil {
		return nil, []string{err.Error()}
	}
	return typed, nil
}

// newObject returns an empty Sail object of the document's kind, nil for other kinds.
func newObject(obj map[string]any) client.Object {
	if obj["apiVersion"] != sailv1.GroupVersion.String() && !strings.HasPrefix(fmt.Sprint(obj["apiVersion"]), sailv1.GroupVersion.Group+"/") {
		return nil
	}
	switch obj["kind"] {
	case sailv1.IstioKind:
		return &sailv1.Istio{}
	case sailv1.IstioRevisionKind:
		return &sailv1.IstioRevision{}
	case "IstioCNI":
		return &sailv1.IstioCNI{}
	case "ZTunnel":
		return &sailv1.ZTunnel{}
	case "IstioRevisionTag":
		return &sailv1.IstioRevisionTag{}
	}
	return nil
}

func kindOf(o client.Object) string {
	switch o.(type) {
	case *sailv1.Istio:
		return sailv1.IstioKind
	case *sailv1.IstioRevision:
		return sailv1.IstioRevisionKind
	case *sailv1.IstioCNI:
		return "IstioCNI"
	case *sailv1.ZTunnel:
		return "ZTunnel"
	case *sailv1.IstioRevisionTag:
		return "IstioRevisionTag"
	}
	return fmt.Sprintf("%T", o)
}

// displayName is how messages name an input file: stdin for -.
func displayName(file string) string {
	if file == StdinName {
		return "stdin"
	}
	return file
}
