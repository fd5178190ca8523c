package ossm2

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
)

// FuzzConvert feeds arbitrary bytes through parsing, conversion and rendering: nothing may panic (Convert turns a
// panic into an "internal error" finding, which fails the test), the exit code is always 0, 1 or 2, and an unknown
// field is reported with its path, as an error, or as a warning with AllowUnknownFields.
func FuzzConvert(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "golden", "*", "input.yaml"))
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "---", "- a\n- b", "kind: List\napiVersion: v1\nitems: [1, {}]", "apiVersion: v1\nkind: Namespace",
		"apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: a, namespace: b}\nspec: 3",
		"apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: a, namespace: b}\n" +
			"status: {appliedSpec: {gateways: {additionalIngress: {x: null}}}}",
		"apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: a, namespace: b}\n" +
			"spec: {techPreview: {global: {proxy: {resources: 1}}, pilot: [1]}}",
	} {
		f.Add([]byte(s))
	}
	list := testVersions(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, findings := ParseYAML("fuzz.yaml", data)
		for _, allow := range []bool{false, true} {
			res := Convert(docs, Options{Versions: list, AllowUnknownFields: allow, DefaultNamespace: "default"})
			res.Report.Findings = append(findings, res.Report.Findings...)
			for _, f := range res.Report.Findings {
				if strings.HasPrefix(f.Message, "internal error") {
					t.Fatalf("%s", f.Message)
				}
				checkUnknownField(t, f, allow)
			}
			if _, err := res.YAML(); err != nil {
				t.Fatalf("rendering: %v", err)
			}
			var b bytes.Buffer
			if err := res.Report.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if err := res.Report.WriteJSON(&b, res.Resources(), nil); err != nil {
				t.Fatal(err)
			}
			if c := res.Report.ExitCode(); c < 0 || c > 2 {
				t.Fatalf("exit code %d", c)
			}
		}
	})
}

// checkUnknownField checks a finding about an unknown field: it names the field's path, and its severity follows
// AllowUnknownFields.
func checkUnknownField(t *testing.T, f report.Finding, allow bool) {
	t.Helper()
	if !strings.HasPrefix(f.Message, "unknown field") {
		return
	}
	if f.At.Path == "" {
		t.Fatalf("unknown field without a path: %+v", f)
	}
	if want := map[bool]report.Severity{false: report.SeverityError, true: report.SeverityWarning}[allow]; f.Severity != want {
		t.Fatalf("unknown field %s reported as %s with AllowUnknownFields=%t", f.At.Path, f.Severity, allow)
	}
}
