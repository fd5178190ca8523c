package sailctl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/cli/preview"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/operator"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/values"
)

const diffIstio = `apiVersion: sailoperator.io/v1
kind: Istio
metadata:
  name: default
spec:
  namespace: istio-system
  values:
    pilot:
      resources:
        requests:
          cpu: 100m
`

// TestDiffAgainstAPIServer runs sailctl diff against a real API server: everything is created on an empty
// cluster, nothing changes once the operator's objects are applied, and a value change shows as a diff.
func TestDiffAgainstAPIServer(t *testing.T) {
	env := testenv.Start(t)
	kubeconfig := writeKubeconfig(t, env.Config)
	env.CreateNamespace(t, "istio-system")
	file := filepath.Join(t.TempDir(), "istio.yaml")
	writeFile(t, file, diffIstio)
	diff := func(t *testing.T) (int, string) {
		t.Helper()
		code, out, errOut := run(t, "", "diff", "-f", file, "--kubeconfig", kubeconfig)
		if code > 1 {
			t.Fatalf("exit code %d: %s", code, errOut)
		}
		return code, out
	}

	code, out := diff(t)
	for _, want := range []string{"# create Istio default (from the input)", "# create IstioRevision default (applied by Istio default)",
		"# create Deployment istio-system/istiod (applied by IstioRevision default)", "+    name: istiod", " 0 to change, 0 to prune, 0 unchanged"} {
		if !strings.Contains(out, want) {
			t.Errorf("empty cluster: output lacks %q:\n%s", want, firstLines(out, 40))
		}
	}
	if code != ExitDiffers {
		t.Errorf("empty cluster: exit code %d, want %d", code, ExitDiffers)
	}

	applyLikeTheOperator(t, env, file)
	if code, out := diff(t); code != 0 || !strings.Contains(out, "# 0 to create, 0 to change, 0 to prune") {
		t.Errorf("after applying: exit code %d, want 0:\n%s", code, firstLines(out, 80))
	}

	writeFile(t, file, strings.Replace(diffIstio, "cpu: 100m", "cpu: 250m", 1))
	code, out = diff(t)
	for _, want := range []string{"# change Istio default (from the input)", "# change Deployment istio-system/istiod",
		"-            cpu: 100m", "+            cpu: 250m", "--- live/Deployment/istio-system/istiod"} {
		if !strings.Contains(out, want) {
			t.Errorf("value change: output lacks %q:\n%s", want, firstLines(out, 80))
		}
	}
	if code != ExitDiffers {
		t.Errorf("value change: exit code %d, want %d", code, ExitDiffers)
	}
	t.Run("objects the inventory lists but no longer rendered are pruned", func(t *testing.T) {
		addStaleObject(t, env)
		_, out := diff(t)
		if !strings.Contains(out, "# prune ConfigMap istio-system/stale (pruned by IstioRevision default)") ||
			!strings.Contains(out, "-  name: stale") {
			t.Errorf("output lacks the pruned ConfigMap:\n%s", out)
		}
	})
}

// applyLikeTheOperator creates the input's Istio and the IstioRevision the Istio controller writes, and applies
// the revision's objects with the operator's applier and field manager.
func applyLikeTheOperator(t *testing.T, env *testenv.Env, file string) {
	t.Helper()
	ctx := context.Background()
	res, err := preview.Read([]string{file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := preview.NewPlanner(values.PlatformKubernetes)
	ist := res[0].Object.(*sailv1.Istio)
	if err := env.Client.Create(ctx, ist); err != nil {
		t.Fatal(err)
	}
	rev, err := p.Revision(ist, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, rev); err != nil {
		t.Fatal(err)
	}
	groups, err := p.Plan([]preview.Resource{{File: file, Index: 1, Object: rev}}, preview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	applier := apply.NewApplier(env.Client, env.Client, env.Client.Scheme(), operator.FieldManager)
	if err := applier.Prepare(groups[0].Objects, rev, rev.Spec.Namespace); err != nil {
		t.Fatal(err)
	}
	if _, err := applier.Apply(ctx, groups[0].Objects); err != nil {
		t.Fatal(err)
	}
	rev.Status.Inventory = apply.Inventory(groups[0].Objects)
	if err := env.Client.Status().Update(ctx, rev); err != nil {
		t.Fatal(err)
	}
}

// addStaleObject creates a ConfigMap and lists it in the revision's inventory, as if an older spec rendered it.
func addStaleObject(t *testing.T, env *testenv.Env) {
	t.Helper()
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stale", Namespace: "istio-system"}}
	if err := env.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	rev := &sailv1.IstioRevision{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "default"}, rev); err != nil {
		t.Fatal(err)
	}
	rev.Status.Inventory = append(rev.Status.Inventory, sailv1.InventoryEntry{ID: "istio-system_stale__ConfigMap", Version: "v1"})
	if err := env.Client.Status().Update(ctx, rev); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
