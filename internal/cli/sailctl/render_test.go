package sailctl

import (
	"strings"
	"testing"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// TestRenderCommand runs sailctl render on the sample Istio from a file and from stdin, and with invalid input.
func TestRenderCommand(t *testing.T) {
	code, out, errOut := run(t, "", "render", "-f", "../../../config/samples/istio.yaml", "--version", versions.Default().Versions[1].Name)
	if code != 0 || !strings.Contains(out, "kind: IstioRevision") || !strings.Contains(out, "# IstioRevision default applies Deployment istiod") {
		t.Errorf("render: exit code %d, stderr %s\n%s", code, errOut, firstLines(out, 30))
	}
	if !strings.Contains(out, "version: "+versions.Default().Versions[1].Name) {
		t.Errorf("render --version: the revision does not have the version")
	}
	bad := "apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata:\n  name: x\nspec:\n  profile: nosuch\n"
	code, _, errOut = run(t, bad, "render", "-f", "-", "-o", "json")
	if code != ExitUsage || !strings.Contains(errOut, "stdin document 1: spec.profile") {
		t.Errorf("invalid stdin: exit code %d, stderr %s", code, errOut)
	}
	if code, _, errOut = run(t, "", "render", "-f", "x.yaml", "-o", "table"); code != ExitUsage || !strings.Contains(errOut, "--output") {
		t.Errorf("-o table: exit code %d, stderr %s", code, errOut)
	}
}

// TestRenderDiffCompletion checks the flag completions of render and diff.
func TestRenderDiffCompletion(t *testing.T) {
	for args, want := range map[string]string{
		"render -o ":         "json",
		"render --platform ": "openshift",
		"diff --version ":    versions.Default().Newest().Name,
	} {
		_, out, _ := run(t, "", append([]string{"__complete"}, append(strings.Fields(args), "")...)...)
		if !strings.Contains(out, want) {
			t.Errorf("completion of %q lacks %s:\n%s", args, want, out)
		}
	}
}
