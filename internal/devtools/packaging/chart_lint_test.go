package packaging

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
)

// helmLintStrict runs what `helm lint --strict --namespace sail-system [--kube-version V]` runs on the chart
// in dir, with the values: Helm's chart linter (the rules behind helm's lint action), failing on warnings as
// --strict does. It returns the failing messages and logs the others. (Helm's action package would pull in its
// whole client; the linter is the same code without it.)
func helmLintStrict(t *testing.T, dir string, kubeVersion string, values map[string]any) []string {
	t.Helper()
	var opts []lint.LinterOption
	if kubeVersion != "" {
		kv, err := common.ParseKubeVersion(kubeVersion)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, lint.WithKubeVersion(kv))
	}
	var failing []string
	for _, m := range lint.RunAll(dir, values, testNS, opts...).Messages {
		if m.Severity >= support.WarningSev {
			failing = append(failing, m.Error())
		} else {
			t.Logf("helm lint: %s", m.Error())
		}
	}
	return failing
}

func TestChart_PassesHelmLintStrict(t *testing.T) {
	cases := []struct {
		name, kubeVersion string
		values            map[string]any
	}{
		{"defaults", "", nil},
		{"defaults on the oldest supported Kubernetes", "v1.30.0", nil},
		{"everything optional on", "", map[string]any{
			"replicaCount":        2,
			"podDisruptionBudget": map[string]any{"enabled": true},
			"metrics":             map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
		}},
		{"no CRDs, no RBAC, an existing ServiceAccount, no metrics", "", map[string]any{
			"crds":           map[string]any{"install": false},
			"rbac":           map[string]any{"create": false},
			"serviceAccount": map[string]any{"create": false, "name": "existing"},
			"metrics":        map[string]any{"enabled": false},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			NewWithT(t).Expect(helmLintStrict(t, chartDir(), c.kubeVersion, c.values)).To(BeEmpty())
		})
	}
}

func TestChart_HelmLintStrictFailsOnWarnings(t *testing.T) {
	// An unknown field in Chart.yaml is only a warning, which --strict turns into a failure.
	g := NewWithT(t)
	dir := filepath.Join(t.TempDir(), "sail-operator")
	g.Expect(os.CopyFS(dir, os.DirFS(chartDir()))).To(Succeed())
	chartYAML := filepath.Join(dir, "Chart.yaml")
	data, err := os.ReadFile(chartYAML)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(chartYAML, append(data, []byte("maintainer: nobody\n")...), 0o644)).To(Succeed())
	g.Expect(helmLintStrict(t, dir, "", nil)).To(ContainElement(ContainSubstring("maintainer")))
}
