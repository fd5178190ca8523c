package sailctl

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// golden returns the input file of a golden case of internal/cli/ossm2.
func golden(name string) string {
	return filepath.Join("..", "ossm2", "testdata", "golden", name, "input.yaml")
}

// run runs sailctl with args and stdin, and returns its exit code and outputs.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	code = Execute(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestMigrateExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int
		// resources tells whether resources are expected on stdout.
		resources bool
	}{
		{"a clean conversion exits 0 and writes the resources", []string{"migrate", "-f", golden("clean"), "--version", "v1.31.0"}, 0, true},
		{"a conversion with warnings exits 1 and writes the resources", []string{"migrate", "-f", golden("minimal")}, 1, true},
		{"a blocker exits 2 and withholds the resources", []string{"migrate", "-f", golden("mixer-blocker")}, 2, false},
		{"--force writes the resources of a blocked migration, still exiting 2", []string{"migrate", "-f", golden("mixer-blocker"), "--force"}, 2, true},
		{"an unknown field is invalid input", []string{"migrate", "-f", golden("unknown-field")}, 2, false},
		{"--allow-unknown-fields turns unknown fields into warnings", []string{"migrate", "-f", golden("unknown-field"), "--allow-unknown-fields"}, 1, true},
		{"malformed documents are invalid input", []string{"migrate", "-f", golden("malformed")}, 2, false},
		{"a missing file is invalid input", []string{"migrate", "-f", "does-not-exist.yaml"}, 2, false},
		{"no input is a usage error", []string{"migrate"}, 2, false},
		{"files and --from-cluster together are a usage error", []string{"migrate", "-f", golden("minimal"), "--from-cluster"}, 2, false},
		{"an unknown output format is a usage error", []string{"migrate", "-f", golden("minimal"), "--output", "xml"}, 2, false},
		{"an unknown validation mode is a usage error", []string{"migrate", "-f", golden("minimal"), "--validate=maybe"}, 2, false},
		{"an unsupported version is a usage error", []string{"migrate", "-f", golden("minimal"), "--version", "v1.2.3"}, 2, false},
		{"an unknown flag is a usage error", []string{"migrate", "--frobnicate"}, 2, false},
		{"a validation mode given without = is a usage error that says how to write it", []string{"migrate", "-f", golden("minimal"), "--validate", "offline"}, 2, false},
		{"a stray argument is a usage error", []string{"migrate", golden("minimal")}, 2, false},
		{"an unknown command is a usage error", []string{"frobnicate"}, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", tc.args...)
			if code != tc.want {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.want, stdout, stderr)
			}
			if got := strings.Contains(stdout, "apiVersion: sailoperator.io/v1"); got != tc.resources {
				t.Errorf("resources on stdout: %t, want %t\nstdout:\n%s\nstderr:\n%s", got, tc.resources, stdout, stderr)
			}
			if code == 2 && !tc.resources && stderr == "" {
				t.Error("nothing on stderr says what went wrong")
			}
		})
	}
}

func TestMigrateStdin(t *testing.T) {
	data, err := os.ReadFile(golden("minimal"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, string(data), "migrate", "-f", "-")
	if code != 1 || !strings.Contains(stdout, "kind: Istio\n") || !strings.Contains(stderr, "(-, document 1") {
		t.Errorf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestMigrateOutputDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := run(t, "", "migrate", "-f", golden("gateways"), "-o", dir)
	if code != 1 {
		t.Fatalf("exit code %d\n%s%s", code, stdout, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) < 10 {
		t.Fatalf("got %d files: %v", len(files), files)
	}
	if filepath.Base(files[0]) != "01-namespace-istio-cni.yaml" {
		t.Errorf("first file is %s", files[0])
	}
	if !strings.Contains(stdout, "sailctl migrate report") || !strings.Contains(stdout, "Wrote ") {
		t.Errorf("the report is not on stdout:\n%s", stdout)
	}
}

func TestMigrateJSON(t *testing.T) {
	code, stdout, _ := run(t, "", "migrate", "-f", golden("multitenant"), "--output", "json", "--validate=offline")
	if code != 1 {
		t.Fatalf("exit code %d\n%s", code, stdout)
	}
	var out struct {
		Result    string           `json:"result"`
		ExitCode  int              `json:"exitCode"`
		Resources []map[string]any `json:"resources"`
		Carried   []map[string]any `json:"carriedOver"`
		Findings  []struct {
			Severity string         `json:"severity"`
			At       map[string]any `json:"at"`
		} `json:"findings"`
		Validation struct {
			Mode    string `json:"mode"`
			Results []struct {
				Status string `json:"status"`
			} `json:"results"`
		} `json:"validation"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if out.ExitCode != 1 || out.Result != "converted with warnings" || len(out.Resources) == 0 ||
		len(out.Carried) == 0 || len(out.Findings) == 0 || out.Validation.Mode != "offline" {
		t.Errorf("unexpected JSON report: %+v", out)
	}
	for _, r := range out.Validation.Results {
		if r.Status == "rejected" {
			t.Errorf("offline validation rejected an object:\n%s", stdout)
		}
	}
}

func TestMigrateValidateOfflineAuto(t *testing.T) {
	// No kubeconfig: --validate alone falls back to offline validation.
	code, _, stderr := run(t, "", "migrate", "-f", golden("mtls-addons"), "--validate")
	if code != 1 || !strings.Contains(stderr, "Validation (offline") ||
		!strings.Contains(stderr, "valid     PeerAuthentication istio-system/mesh-mtls") {
		t.Errorf("exit code %d\n%s", code, stderr)
	}
	code, _, stderr = run(t, "", "migrate", "-f", golden("minimal"), "--validate=cluster")
	if code != 2 || !strings.Contains(stderr, "kubeconfig") {
		t.Errorf("--validate=cluster without a kubeconfig: exit code %d\n%s", code, stderr)
	}
}

func TestVersionsAndVersion(t *testing.T) {
	code, stdout, _ := run(t, "", "versions")
	if code != 0 || !strings.Contains(stdout, "latest") {
		t.Errorf("versions: exit code %d\n%s", code, stdout)
	}
	code, stdout, _ = run(t, "", "versions", "--output", "json")
	var l struct {
		Versions []struct{ Name string } `json:"versions"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &l) != nil || len(l.Versions) == 0 {
		t.Errorf("versions --output json: exit code %d\n%s", code, stdout)
	}
	code, stdout, _ = run(t, "", "version")
	if code != 0 || !strings.HasPrefix(stdout, "sailctl ") {
		t.Errorf("version: exit code %d\n%s", code, stdout)
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, stdout, stderr := run(t, "", "completion", shell)
		if code != 0 || !strings.Contains(stdout, "sailctl") {
			t.Errorf("completion %s: exit code %d\n%s", shell, code, stderr)
		}
	}
	if code, _, _ := run(t, "", "completion", "tcsh"); code != 2 {
		t.Errorf("completion tcsh: exit code %d, want 2", code)
	}
}

// TestHelpHasExamples checks that every command documents itself with examples.
func TestHelpHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() != "help" && c.Example == "" {
			t.Errorf("%q has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRootCommand())
	code, stdout, _ := run(t, "", "migrate", "--help")
	if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "--validate") {
		t.Errorf("migrate --help: exit code %d\n%s", code, stdout)
	}
}
