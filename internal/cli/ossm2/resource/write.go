package resource

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// YAML renders the objects as one multi-document YAML stream, each preceded by its comment.
func YAML(objects []Object) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objects {
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

// FileName is the name of the file an object is written to by WriteDir: its position i (so that the files sort in
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
func WriteDir(dir string, objects []Object) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the output folder: %w", err)
	}
	var files []string
	for i, o := range objects {
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

// Maps returns the objects as plain maps, for JSON output.
func Maps(objects []Object) []map[string]any {
	out := make([]map[string]any, len(objects))
	for i, o := range objects {
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
