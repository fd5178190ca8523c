package input

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/strict"
)

// chunk is one YAML document of a stream and the line it starts on.
type chunk struct {
	text string
	line int
}

// splitter cuts a YAML stream into chunks.
type splitter struct {
	out   []chunk
	cur   strings.Builder
	start int
}

// flush ends the current chunk; the next one starts on line next.
func (s *splitter) flush(next int) {
	s.out = append(s.out, chunk{text: s.cur.String(), line: s.start})
	s.cur.Reset()
	s.start = next
}

// splitDocuments splits a YAML stream on "---" (and "...") lines, keeping the first line of each document.
func splitDocuments(data []byte) []chunk {
	s := &splitter{start: 1}
	n := 0
	for _, line := range strings.SplitAfter(string(data), "\n") {
		n++
		trimmed := strings.TrimRight(line, "\r\n")
		switch {
		case trimmed == "---" || strings.HasPrefix(trimmed, "--- ") || strings.HasPrefix(trimmed, "---\t"):
			s.flush(n + 1)
			rest := strings.TrimSpace(trimmed[3:])
			if rest != "" && !strings.HasPrefix(rest, "#") {
				s.cur.WriteString(rest + "\n")
				s.start = n
			}
		case trimmed == "...":
			s.flush(n + 1)
		default:
			s.cur.WriteString(line)
		}
	}
	s.flush(n + 1)
	return s.out
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
func ParseYAML(file string, data []byte) (docs []Document, findings []report.Finding) {
	docNum := 0
	for _, c := range splitDocuments(data) {
		if strings.TrimSpace(c.text) == "" {
			continue
		}
		docNum++
		loc := report.Location{File: file, Document: docNum, Line: firstContentLine(c)}
		obj, err := decodeYAMLObject([]byte(c.text), c.line)
		if err != nil {
			findings = append(findings, report.Finding{Severity: report.SeverityError, At: loc, Message: err.Error()})
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
			"metadata and spec)", strict.Describe(v))
	}
}

func cleanYAMLError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "error converting YAML to JSON: ")
	return strings.TrimPrefix(s, "yaml: ")
}

// documentsOf checks apiVersion and kind, and expands List objects into their items.
func documentsOf(loc report.Location, obj map[string]any) ([]Document, []report.Finding) {
	apiVersion, kind, err := typeOf(obj)
	if err != nil {
		return nil, []report.Finding{{Severity: report.SeverityError, At: loc, Message: err.Error()}}
	}
	if !strings.HasSuffix(kind, "List") || obj["items"] == nil {
		loc.Kind = kind
		loc.Namespace, loc.Name = nameOf(obj)
		return []Document{{Loc: loc, APIVersion: apiVersion, Kind: kind, Object: obj}}, nil
	}
	items, ok := obj["items"].([]any)
	if !ok {
		return nil, []report.Finding{{Severity: report.SeverityError, At: loc, Message: fmt.Sprintf(
			"%s.items is %s, expected a list of objects", kind, strict.Describe(obj["items"]))}}
	}
	return listItems(loc, items)
}

// listItems returns the objects of a List document's items.
func listItems(loc report.Location, items []any) ([]Document, []report.Finding) {
	var docs []Document
	var findings []report.Finding
	for i, it := range items {
		iloc := loc
		iloc.Item = fmt.Sprintf("items[%d]", i)
		m, ok := it.(map[string]any)
		if !ok {
			findings = append(findings, report.Finding{Severity: report.SeverityError, At: iloc,
				Message: fmt.Sprintf("the item is %s, not a Kubernetes object", strict.Describe(it))})
			continue
		}
		d, f := documentsOf(iloc, m)
		docs = append(docs, d...)
		findings = append(findings, f...)
	}
	return docs, findings
}

// apiVersions are the API versions to suggest when an input object has none.
var apiVersions = map[string]string{KindSMCP: "maistra.io/v2", KindSMMR: "maistra.io/v1", KindSMM: "maistra.io/v1",
	KindNamespace: "v1", KindGateway: "networking.istio.io/v1"}

func typeOf(obj map[string]any) (apiVersion, kind string, err error) {
	apiVersion, okA := obj["apiVersion"].(string)
	kind, okK := obj["kind"].(string)
	switch {
	case !okK || kind == "":
		return "", "", fmt.Errorf("the document has no kind: every input must be a Kubernetes object with " +
			"apiVersion and kind (e.g. apiVersion: maistra.io/v2, kind: ServiceMeshControlPlane)")
	case !okA || apiVersion == "":
		want := apiVersions[kind]
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
