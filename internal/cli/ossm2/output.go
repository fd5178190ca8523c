package ossm2

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// normalizeJSON converts a tree to the types a JSON decoder produces (int64 for integers, float64 for other
// numbers), which is what unstructured objects must hold.
func normalizeJSON(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("generated object cannot be encoded: %v", err))
	}
	tree, err := decodeJSONTree(data)
	if err != nil {
		panic(fmt.Sprintf("generated object cannot be decoded: %v", err))
	}
	return numbersToGo(tree)
}

func numbersToGo(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = numbersToGo(e)
		}
	case []any:
		for i, e := range t {
			t[i] = numbersToGo(e)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

// YAML renders the objects as one multi-document YAML stream, each preceded by its comment.
func (r *Result) YAML() ([]byte, error) {
	var b bytes.Buffer
	for i, o := range r.Objects {
		if i > 0 {
			b.WriteString("---\n")
		}
		data, err := objectYAML(o)
		if err != nil {
			return nil, err
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}

func objectYAML(o Object) ([]byte, error) {
	var b bytes.Buffer
	for _, line := range wrap(o.Comment, 110) {
		b.WriteString("# " + line + "\n")
	}
	data, err := yaml.Marshal(o.Object)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", o.Ref(), err)
	}
	b.Write(data)
	return b.Bytes(), nil
}

// FileName is the name of the file an object is written to by WriteDir: its position (so that the files sort in
// the order to apply them), kind, namespace and name.
func FileName(i int, o Object) string {
	parts := []string{fmt.Sprintf("%02d", i+1), strings.ToLower(o.GetKind())}
	if ns := o.GetNamespace(); ns != "" {
		parts = append(parts, ns)
	}
	parts = append(parts, o.GetName())
	return strings.Join(parts, "-") + ".yaml"
}

// WriteDir writes each object to its own file in dir (created if missing) and returns the file paths.
func (r *Result) WriteDir(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the output folder: %w", err)
	}
	var files []string
	for i, o := range r.Objects {
		data, err := objectYAML(o)
		if err != nil {
			return nil, err
		}
		name := filepath.Join(dir, FileName(i, o))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
		files = append(files, name)
	}
	return files, nil
}

// Resources returns the objects as plain maps, for JSON output.
func (r *Result) Resources() []map[string]any {
	out := make([]map[string]any, len(r.Objects))
	for i, o := range r.Objects {
		out[i] = o.Object
	}
	return out
}

// wrap splits text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	if text == "" {
		return nil
	}
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

func bufioReader(data []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(data)) }
