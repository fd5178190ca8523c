package ossm2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// StdinName is the file name that stands for standard input.
const StdinName = "-"

// Document is one object read from the input.
type Document struct {
	// Loc says where the object came from, and which object it is.
	Loc Location
	// APIVersion and Kind of the object.
	APIVersion string
	Kind       string
	// Object is the object as decoded from JSON; numbers are json.Number.
	Object map[string]any
}

// ReadFiles reads the objects of every named input: a file, a folder (its *.yaml, *.yml and *.json files, in
// sub-folders too, in name order) or "-" for stdin. Problems (a missing file, a document that is not YAML) are
// returned as error findings and reading goes on.
func ReadFiles(names []string, stdin io.Reader) ([]Document, []Finding) {
	var docs []Document
	var findings []Finding
	fail := func(file, format string, args ...any) {
		findings = append(findings, Finding{Severity: SeverityError, At: Location{File: file},
			Message: fmt.Sprintf(format, args...)})
	}
	readOne := func(name string, data []byte) {
		d, f := ParseYAML(name, data)
		docs = append(docs, d...)
		findings = append(findings, f...)
	}
	for _, name := range names {
		if name == StdinName {
			if stdin == nil {
				fail(name, "cannot read standard input")
				continue
			}
			data, err := io.ReadAll(stdin)
			if err != nil {
				fail(name, "reading standard input: %v", err)
				continue
			}
			readOne(name, data)
			continue
		}
		info, err := os.Stat(name)
		if err != nil {
			fail(name, "cannot read the input: %v; check the path given to -f", err)
			continue
		}
		if !info.IsDir() {
			data, err := os.ReadFile(name)
			if err != nil {
				fail(name, "cannot read the input: %v", err)
				continue
			}
			readOne(name, data)
			continue
		}
		var files []string
		err = filepath.WalkDir(name, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != name && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".yaml", ".yml", ".json":
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			fail(name, "cannot read the folder: %v", err)
			continue
		}
		if len(files) == 0 {
			fail(name, "the folder has no .yaml, .yml or .json file")
			continue
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				fail(f, "cannot read the input: %v", err)
				continue
			}
			readOne(f, data)
		}
	}
	return docs, findings
}

// chunk is one YAML document of a stream and the line it starts on.
type chunk struct {
	text string
	line int
}

// splitDocuments splits a YAML stream on "---" (and "...") lines, keeping the first line of each document.
func splitDocuments(data []byte) []chunk {
	var out []chunk
	var cur strings.Builder
	start, n := 1, 0
	flush := func(next int) {
		out = append(out, chunk{text: cur.String(), line: start})
		cur.Reset()
		start = next
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		n++
		trimmed := strings.TrimRight(line, "\r\n")
		switch {
		case trimmed == "---" || strings.HasPrefix(trimmed, "--- ") || strings.HasPrefix(trimmed, "---\t"):
			flush(n + 1)
			rest := strings.TrimSpace(trimmed[3:])
			if rest != "" && !strings.HasPrefix(rest, "#") {
				cur.WriteString(rest + "\n")
				start = n
			}
		case trimmed == "...":
			flush(n + 1)
		default:
			cur.WriteString(line)
		}
	}
	flush(n + 1)
	return out
}

// firstContentLine returns the line of the first line of text that is neither blank nor a comment.
func firstContentLine(c chunk) int {
	for i, l := range strings.Split(c.text, "\n") {
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "#") {
			return c.line + i
		}
	}
	return c.line
}

// ParseYAML reads the objects of one file: one or more YAML (or JSON) documents, each an object or a List of
// objects. Empty documents are skipped. Problems are returned as error findings naming the file, document and
// line; parsing goes on with the next document.
func ParseYAML(file string, data []byte) (docs []Document, findings []Finding) {
	docNum := 0
	for _, c := range splitDocuments(data) {
		if strings.TrimSpace(c.text) == "" {
			continue
		}
		docNum++
		loc := Location{File: file, Document: docNum, Line: firstContentLine(c)}
		obj, err := decodeYAMLObject([]byte(c.text), c.line)
		if err != nil {
			findings = append(findings, Finding{Severity: SeverityError, At: loc, Message: err.Error()})
			continue
		}
		if obj == nil {
			docNum--
			continue
		}
		d, f := documentsOf(loc, obj)
		docs = append(docs, d...)
		findings = append(findings, f...)
	}
	return docs, findings
}

// yamlLine matches the line numbers in YAML parser errors.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// decodeYAMLObject decodes one YAML document that starts on line first of its file; nil means an empty document.
func decodeYAMLObject(text []byte, first int) (obj map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("not valid YAML: the parser failed (%v)", r)
		}
	}()
	j, err := yaml.YAMLToJSONStrict(text)
	if err != nil {
		msg := yamlLine.ReplaceAllStringFunc(cleanYAMLError(err), func(m string) string {
			n, _ := strconv.Atoi(m[len("line "):])
			return fmt.Sprintf("line %d", n+first-1)
		})
		return nil, fmt.Errorf("not valid YAML: %s", msg)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid YAML: %v", err)
	}
	switch t := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return t, nil
	default:
		return nil, fmt.Errorf("the document is %s, not a Kubernetes object (a mapping with apiVersion, kind, "+
			"metadata and spec)", describeJSON(v))
	}
}

func cleanYAMLError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "error converting YAML to JSON: ")
	return strings.TrimPrefix(s, "yaml: ")
}

// documentsOf checks apiVersion and kind, and expands List objects into their items.
func documentsOf(loc Location, obj map[string]any) ([]Document, []Finding) {
	apiVersion, kind, err := typeOf(obj)
	if err != nil {
		return nil, []Finding{{Severity: SeverityError, At: loc, Message: err.Error()}}
	}
	if !strings.HasSuffix(kind, "List") || obj["items"] == nil {
		loc.Kind = kind
		loc.Namespace, loc.Name = nameOf(obj)
		return []Document{{Loc: loc, APIVersion: apiVersion, Kind: kind, Object: obj}}, nil
	}
	items, ok := obj["items"].([]any)
	if !ok {
		return nil, []Finding{{Severity: SeverityError, At: loc, Message: fmt.Sprintf(
			"%s.items is %s, expected a list of objects", kind, describeJSON(obj["items"]))}}
	}
	var docs []Document
	var findings []Finding
	for i, it := range items {
		iloc := loc
		iloc.Item = fmt.Sprintf("items[%d]", i)
		m, ok := it.(map[string]any)
		if !ok {
			findings = append(findings, Finding{Severity: SeverityError, At: iloc,
				Message: fmt.Sprintf("the item is %s, not a Kubernetes object", describeJSON(it))})
			continue
		}
		d, f := documentsOf(iloc, m)
		docs = append(docs, d...)
		findings = append(findings, f...)
	}
	return docs, findings
}

func typeOf(obj map[string]any) (apiVersion, kind string, err error) {
	apiVersion, okA := obj["apiVersion"].(string)
	kind, okK := obj["kind"].(string)
	switch {
	case !okK || kind == "":
		return "", "", fmt.Errorf("the document has no kind: every input must be a Kubernetes object with " +
			"apiVersion and kind (e.g. apiVersion: maistra.io/v2, kind: ServiceMeshControlPlane)")
	case !okA || apiVersion == "":
		want := map[string]string{kindSMCP: "maistra.io/v2", kindSMMR: "maistra.io/v1", kindSMM: "maistra.io/v1",
			kindNamespace: "v1", kindGateway: "networking.istio.io/v1"}[kind]
		if want == "" {
			return "", "", fmt.Errorf("the %s has no apiVersion: set apiVersion", kind)
		}
		return "", "", fmt.Errorf("the %s has no apiVersion: set apiVersion: %s", kind, want)
	}
	return apiVersion, kind, nil
}

func nameOf(obj map[string]any) (namespace, name string) {
	md, _ := obj["metadata"].(map[string]any)
	namespace, _ = md["namespace"].(string)
	name, _ = md["name"].(string)
	return namespace, name
}

// describeJSON names the JSON type of v for error messages.
func describeJSON(v any) string {
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
