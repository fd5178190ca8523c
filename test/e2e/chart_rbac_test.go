package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/packaging"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/operator"
	"github.com/sail-mesh/sail/test/framework"
)

// installChart renders deploy/chart with Helm's engine and applies it (server-side) as `helm install` would, in
// namespace ns, which it creates. Cluster-scoped objects are deleted when the test ends.
func installChart(ctx context.Context, t *testing.T, release, ns string, values map[string]any) {
	t.Helper()
	g := NewWithT(t)
	c := cluster.Client
	objs, err := packaging.RenderChart(filepath.Join(testenv.RepoRoot(), "deploy", "chart"),
		packaging.Release{Name: release, Namespace: ns, Values: values})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).To(Succeed())
	for _, u := range objs {
		g.Expect(c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("helm"), client.ForceOwnership)).
			To(Succeed(), "%s %s", u.GetKind(), u.GetName())
		if u.GetNamespace() == "" {
			t.Cleanup(func() { _ = c.Delete(context.Background(), u.DeepCopy()) })
		}
	}
	t.Cleanup(func() {
		_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	})
	t.Logf("chart installed: %s", packaging.Kinds(objs))
}

// TestChartRBAC_OperatorWithTheChartsIdentity proves the chart's RBAC is enough: the operator runs with a token
// of the chart's ServiceAccount (bound to nothing but the chart's ClusterRole and leader election Role) and
// installs, updates, upgrades and deletes an Istio without a single forbidden request.
func TestChartRBAC_OperatorWithTheChartsIdentity(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	const release, ns, sa = "rbac", "sail-rbac", "rbac-sail-operator"
	// No CRDs (the cluster has them already) and no pods: the operator runs here as a process.
	installChart(ctx, t, release, ns, map[string]any{"crds": map[string]any{"install": false}, "replicaCount": 0})

	logDir := t.TempDir()
	kubeconfig, err := cluster.ServiceAccountKubeconfig(ctx, logDir, ns, sa, time.Hour)
	g.Expect(err).NotTo(HaveOccurred())

	// The API server enforces RBAC: the ServiceAccount reads Istios, and may read Secrets (remote secrets, when
	// an inactive revision is due for deletion) but never write them.
	saConfig, err := framework.RESTConfigFromKubeconfig(kubeconfig)
	g.Expect(err).NotTo(HaveOccurred())
	saClient, err := client.New(saConfig, client.Options{Scheme: operator.NewScheme()})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func() error { return saClient.List(ctx, &sailv1.IstioList{}) }, 10*time.Second).Should(Succeed())
	g.Expect(saClient.List(ctx, &corev1.SecretList{}, client.InNamespace("kube-system"))).To(Succeed())
	err = saClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "sail-rbac-probe"}})
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "creating a Secret as the operator: %v", err)

	op, err := cluster.StartOperatorAs(kubeconfig, logDir, "operator-rbac", "--leader-elect",
		"--leader-election-namespace="+ns, "--leader-election-id=sail-rbac-e2e")
	g.Expect(err).NotTo(HaveOccurred())
	defer op.Stop()
	defer op.DumpLogOnFailure(t)

	const istioNS, name = "istio-rbac", "rbac"
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: istioNS}}))).To(Succeed())
	defer func() {
		_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: istioNS}})
	}()
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: sailv1.IstioSpec{
		Version: "v1.30-latest", Namespace: istioNS,
		Values: &sailv1.Values{Pilot: &sailv1.PilotConfig{Env: rawJSON(map[string]string{"E2E_MARK": "one"})}},
	}}
	start := time.Now()
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	defer func() { _ = c.Delete(context.Background(), &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}}) }()
	g.Eventually(readyStatus(ctx, c, name), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	t.Logf("installed: Ready after %s", time.Since(start).Round(time.Millisecond))

	deploy := &appsv1.Deployment{}
	key := client.ObjectKey{Namespace: istioNS, Name: "istiod-" + name}

	// Update: new values roll out.
	g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Values.Pilot.Env = rawJSON(map[string]string{"E2E_MARK": "two"})
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	g.Eventually(readyStatus(ctx, c, name), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	g.Expect(c.Get(ctx, key, deploy)).To(Succeed())
	g.Expect(deploymentEnv(deploy, "E2E_MARK")).To(Equal("two"))

	// Upgrade: the next minor version, in place.
	g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, istio)).To(Succeed())
	patch = client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version = "v1.31.0"
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	g.Eventually(func() string {
		_ = c.Get(ctx, key, deploy)
		return deploy.Spec.Template.Spec.Containers[0].Image
	}, waitFor).Should(Equal("docker.io/istio/pilot:1.31.0"))
	g.Eventually(readyStatus(ctx, c, name), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))

	// Delete: everything goes, the finalizer is removed.
	g.Expect(c.Delete(ctx, istio)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: name}, &sailv1.Istio{}))
	}, waitFor).Should(BeTrue())
	g.Eventually(func() []string { return managedObjects(ctx, c, name) }, waitFor).Should(BeEmpty())

	// The operator held the leader election lease in the release namespace, with the chart's Role.
	g.Expect(logHas(op, "successfully acquired lease", ns+"/sail-rbac-e2e")).To(BeTrue())
	op.Stop()
	log, err := os.ReadFile(op.LogPath)
	g.Expect(err).NotTo(HaveOccurred())
	denied := regexp.MustCompile(`(?i).*(forbidden|unauthorized|cannot (get|list|watch|create|patch|update|delete)).*`).FindAll(log, 10)
	g.Expect(denied).To(BeEmpty(), "the operator was denied requests:\n%s", joinLines(denied))
}

func joinLines(lines [][]byte) string {
	var s string
	for _, l := range lines {
		s += string(l) + "\n"
	}
	return s
}
