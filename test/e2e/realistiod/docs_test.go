package realistiod

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/test/framework"
)

// TestDocs runs the commands of the user guides as a user would, one page after the other, against the cluster
// with the operator and the real istiod of every revision Sail installs (started as its pod would be, between
// commands): each page's `sh` blocks run in bash, in a directory holding the page's files (```yaml file=NAME),
// with kubectl and sailctl on the PATH. The istiods start soon after their Deployments appear, and before the next
// block runs each one serves. What a page creates is deleted before the next one starts.
func TestDocs(t *testing.T) {
	startOperator(t)
	bin := buildSailctl(t)
	istiods := framework.NewIstiodSupervisor(cluster, t.TempDir())
	t.Cleanup(istiods.Stop)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		istiods.Run(ctx, 500*time.Millisecond, func(err error) { t.Logf("starting istiods: %v", err) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	for _, page := range framework.DocPages {
		t.Run(strings.TrimSuffix(page, ".md"), func(t *testing.T) {
			runPage(t, filepath.Join(testenv.RepoRoot(), "docs", page), bin, istiods)
		})
	}
}

// runPage runs the blocks of one page, then removes what it created.
func runPage(t *testing.T, path, bin string, istiods *framework.IstiodSupervisor) {
	data, err := os.ReadFile(path)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	blocks, err := framework.ParseDocBlocks(string(data))
	NewWithT(t).Expect(err).NotTo(HaveOccurred(), path)
	before := namespaceNames(t)
	t.Cleanup(func() { cleanUpPage(t, before, istiods) })
	dir := t.TempDir()
	for _, b := range blocks {
		switch {
		case b.File != "":
			NewWithT(t).Expect(os.WriteFile(filepath.Join(dir, b.File), []byte(b.Text), 0o644)).To(Succeed())
		case b.Run:
			runBlock(t, fmt.Sprintf("%s:%d", filepath.Base(path), b.Line), dir, bin, b.Text)
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			err := istiods.Sync(ctx)
			cancel()
			NewWithT(t).Expect(err).NotTo(HaveOccurred(), "starting the istiods after %s:%d", filepath.Base(path), b.Line)
		}
	}
}

// runBlock runs one block's commands in bash (stopping at the first failing one) and fails the test with their
// output when one fails.
func runBlock(t *testing.T, where, dir, bin, script string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.Local.KubeconfigPath(),
		"PATH="+bin+string(os.PathListSeparator)+filepath.Join(testenv.RepoRoot(), "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s (%s):\n%s%s", where, time.Since(start).Round(time.Millisecond), indent(script, "$ "), indent(string(out), "  "))
	if err != nil {
		t.Fatalf("%s: the commands failed: %v\n%s", where, err, out)
	}
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + line + "\n")
	}
	return b.String()
}

var (
	sailctlOnce sync.Once
	sailctlDir  string
	sailctlErr  error
)

// buildSailctl builds sailctl once into a directory, which it returns.
func buildSailctl(t *testing.T) string {
	sailctlOnce.Do(func() {
		sailctlDir, sailctlErr = os.MkdirTemp("", "sail-docs-bin")
		if sailctlErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(sailctlDir, "sailctl"), "./cmd/sailctl")
		cmd.Dir = testenv.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			sailctlErr = fmt.Errorf("building sailctl: %v\n%s", err, out)
		}
	})
	NewWithT(t).Expect(sailctlErr).NotTo(HaveOccurred())
	return sailctlDir
}

func namespaceNames(t *testing.T) map[string]bool {
	list := &corev1.NamespaceList{}
	NewWithT(t).Expect(cluster.Client.List(context.Background(), list)).To(Succeed())
	out := map[string]bool{}
	for _, ns := range list.Items {
		out[ns.Name] = true
	}
	return out
}

// cleanUpPage deletes the Sail resources and the namespaces a page left, waits until they are gone and stops
// their istiods.
func cleanUpPage(t *testing.T, namespacesBefore map[string]bool, istiods *framework.IstiodSupervisor) {
	g := NewWithT(t)
	ctx := context.Background()
	for _, obj := range []client.Object{&sailv1.Istio{}, &sailv1.IstioRevisionTag{}, &sailv1.IstioCNI{}, &sailv1.ZTunnel{}} {
		g.Expect(cluster.Client.DeleteAllOf(ctx, obj)).To(Succeed())
	}
	g.Eventually(func() int {
		list := &sailv1.IstioRevisionList{}
		if err := cluster.Client.List(ctx, list); err != nil {
			return -1
		}
		return len(list.Items)
	}, waitFor).Should(BeZero(), "the page's revisions are deleted")
	for name := range namespaceNames(t) {
		if !namespacesBefore[name] {
			_ = cluster.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
	}
	g.Eventually(func() []string {
		var left []string
		for name := range namespaceNames(t) {
			if !namespacesBefore[name] {
				left = append(left, name)
			}
		}
		return left
	}, waitFor).Should(BeEmpty(), "the page's namespaces are deleted")
	g.Expect(istiods.Sync(ctx)).To(Succeed())
}
