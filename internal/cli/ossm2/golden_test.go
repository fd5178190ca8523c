package ossm2

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

var update = flag.Bool("update", false, "rewrite the golden files (output.yaml, report.txt) from the current output")

// caseOptions is the optional options.yaml of a golden case.
type caseOptions struct {
	Version            string `json:"version,omitempty"`
	Platform           string `json:"platform,omitempty"`
	Namespace          string `json:"namespace,omitempty"`
	AllowUnknownFields bool   `json:"allowUnknownFields,omitempty"`
}

// testVersions is a fixed list of versions, so that the golden files do not change when Sail adds a version.
func testVersions(t testing.TB) *versions.List {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "versions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := versions.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// runCase converts a golden case's input as sailctl migrate -f input.yaml does.
func runCase(t *testing.T, dir string) *Result {
	t.Helper()
	var co caseOptions
	if data, err := os.ReadFile(filepath.Join(dir, "options.yaml")); err == nil {
		if err := yaml.UnmarshalStrict(data, &co); err != nil {
			t.Fatalf("options.yaml: %v", err)
		}
	}
	input, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, findings := ParseYAML("input.yaml", input)
	res := Convert(docs, Options{Version: co.Version, Platform: co.Platform, DefaultNamespace: co.Namespace,
		AllowUnknownFields: co.AllowUnknownFields, Versions: testVersions(t)})
	res.Report.Findings = append(findings, res.Report.Findings...)
	return res
}

// TestGolden converts each case of testdata/golden and compares the resources (output.yaml) and the report
// (report.txt) with the golden files. Run with -update to rewrite them after a deliberate change.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	schemas, err := LoadSchemas(OfflineOptions{IstioVersion: versions.Default().Newest().Name})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res := runCase(t, dir)
			out, err := res.YAML()
			if err != nil {
				t.Fatal(err)
			}
			var report bytes.Buffer
			if err := res.Report.WriteText(&report); err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join(dir, "output.yaml"), out)
			compareGolden(t, filepath.Join(dir, "report.txt"), report.Bytes())

			// Whatever the case, what is generated must be accepted by the CRD schemas and Go types.
			objs := make([]Object, len(res.Objects))
			for i, o := range res.Objects {
				u := o.DeepCopy()
				if u.GetKind() == "Istio" || u.GetKind() == "IstioCNI" {
					u.Object["spec"].(map[string]any)["version"] = versions.Default().Newest().Name
				}
				objs[i] = Object{Unstructured: u}
			}
			for _, r := range ValidateOffline(objs, schemas).Results {
				if r.Status == ValidationRejected {
					t.Errorf("%s is rejected by offline validation: %s", r.Object, strings.Join(r.Messages, "; "))
				}
			}
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli/ossm2 -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output; if the change is intended, run go test ./internal/cli/ossm2 -run "+
			"TestGolden -update\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
			if shown++; shown == 10 {
				break
			}
		}
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }
