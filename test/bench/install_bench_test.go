package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/mesh/istiocrds"
	"github.com/sail-mesh/sail/internal/operator"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
	"github.com/sail-mesh/sail/test/framework"
)

// renderDefault renders what the operator installs for an Istio named default in istio-system, split into Istio's
// CRDs and everything else.
func renderDefault(b *testing.B) (crds, objs []*unstructured.Unstructured) {
	v := versions.Default().Newest()
	vals, err := values.ForRevision(values.Input{Version: v, Revision: "default", Namespace: "istio-system"})
	if err != nil {
		b.Fatal(err)
	}
	m, err := values.ToMap(vals)
	if err != nil {
		b.Fatal(err)
	}
	r := render.New(nil)
	istiod, err := r.Render(render.Input{Version: v.Name, Chart: versions.ChartIstiod, Release: "default", Namespace: "istio-system", Values: values.ForIstiodChart(m)})
	if err != nil {
		b.Fatal(err)
	}
	base, err := r.Render(render.Input{Version: v.Name, Chart: versions.ChartBase, Release: "base", Namespace: "istio-system", Values: m})
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range append(istiod, base...) {
		if u.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, u)
		} else {
			objs = append(objs, u)
		}
	}
	return crds, objs
}

func writeManifest(b *testing.B, path string, objs []*unstructured.Unstructured) {
	var out []byte
	for _, u := range objs {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			b.Fatal(err)
		}
		out = append(append(out, "---\n"...), data...)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		b.Fatal(err)
	}
}

func kubectl(b *testing.B, kubeconfig string, args ...string) {
	cmd := exec.Command(filepath.Join(testenv.RepoRoot(), "bin", "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	if d.Status.ObservedGeneration != d.Generation || d.Spec.Replicas == nil || d.Status.UpdatedReplicas != *d.Spec.Replicas {
		return false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// BenchmarkInstall compares installing Istio with the operator against kubectl, and counts the operator's writes.
func BenchmarkInstall(b *testing.B) {
	ctx := context.Background()
	rep := &report{name: "install"}
	if err := framework.DeleteCluster(ctx, "sail-bench"); err != nil {
		b.Fatal(err)
	}
	cluster, err := framework.StartCluster(ctx, "sail-bench", 3, framework.AuditPolicy())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cluster.Local.Stop(ctx) }()
	kubeconfig := cluster.Local.KubeconfigPath()
	c := cluster.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}); err != nil {
		b.Fatal(err)
	}

	// Baseline: the same rendered manifests with a cold kubectl, then kubectl wait.
	dir := b.TempDir()
	_, objs := renderDefault(b)
	writeManifest(b, filepath.Join(dir, "istio.yaml"), objs)
	// Istio's CRDs are installed beforehand in both cases, the way the operator installs them (so a later operator
	// finds them as its own), and are not part of the comparison.
	applier := apply.NewApplier(c, c, c.Scheme(), operator.FieldManager)
	if _, err := istiocrds.NewInstaller(applier, c, c).Ensure(ctx, versions.Default().Newest().Name); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		kubectl(b, kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", filepath.Join(dir, "istio.yaml"))
	}()
	kwokCreated, kwokAvailable := pollDeployment(b, c, start)
	<-applied
	baseline := time.Since(start)
	floor := kwokAvailable - kwokCreated
	kubectl(b, kubeconfig, "delete", "--wait", "-f", filepath.Join(dir, "istio.yaml"))

	logDir := b.TempDir()
	if out := os.Getenv("SAIL_BENCH_OUT"); out != "" {
		logDir = out
	}
	op, err := cluster.StartOperator(logDir, "bench-install-operator", "--zap-log-level=debug")
	if err != nil {
		b.Fatal(err)
	}
	defer op.Stop()
	time.Sleep(3 * time.Second) // let the operator start and sync its caches before the clock starts

	b.ResetTimer()
	start = time.Now()
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{Namespace: "istio-system"}}
	if err := c.Create(ctx, istio); err != nil {
		b.Fatal(err)
	}
	var created, available, ready time.Duration
	deadline := time.Now().Add(2 * time.Minute)
	for (available == 0 || ready == 0) && time.Now().Before(deadline) {
		d := &appsv1.Deployment{}
		if available == 0 && c.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "istiod"}, d) == nil {
			if created == 0 {
				created = time.Since(start)
			}
			if deploymentAvailable(d) {
				available = time.Since(start)
			}
		}
		got := &sailv1.Istio{}
		if ready == 0 && c.Get(ctx, client.ObjectKey{Name: "default"}, got) == nil &&
			got.Status.ObservedGeneration == got.Generation && meta.IsStatusConditionTrue(got.Status.Conditions, sailv1.ConditionReady) {
			ready = time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	if ready == 0 || available == 0 {
		b.Fatalf("the Istio did not become Ready within 2 minutes (available after %s); operator log: %s", available, op.LogPath)
	}
	installEnd := time.Now()
	rep.add(b, "kubectl apply --server-side + Available", baseline.Seconds(), "s", "cold CLI, same manifests (istiod + base, CRDs pre-installed)")
	rep.add(b, "operator: Istio created -> Ready", ready.Seconds(), "s", "operator already running")
	rep.add(b, "operator: Istio created -> istiod Deployment created", created.Seconds(), "s", "the rest is the rollout by the cluster")
	rep.add(b, "speed-up over kubectl", baseline.Seconds()/ready.Seconds(), "x", "target >= 2")
	lag := ready - available
	if lag < 0 {
		lag = 0
	}
	rep.add(b, "istiod Available -> Istio Ready", lag.Seconds(), "s", "target <= 0.1 (5 ms polling)")
	rep.add(b, "floor: kubectl-applied istiod created -> Available", floor.Seconds(), "s", "kwok's own rollout time (5 ms polling)")
	rep.add(b, "operator: Istio created -> Ready / kubectl apply + Available", ready.Seconds()/baseline.Seconds(), "ratio", "")
	rep.add(b, "operator: istiod created -> Istio Ready / floor", (ready-created).Seconds()/floor.Seconds(), "ratio", "1 = no time beyond kwok's rollout")
	rep.add(b, "operator: Available -> Ready / floor", lag.Seconds()/floor.Seconds(), "ratio", "")

	time.Sleep(2 * time.Second)
	idleStart := time.Now()
	time.Sleep(60 * time.Second)
	idleEnd := time.Now()
	time.Sleep(2 * time.Second) // let the audit log flush
	writes, by, err := framework.CountWrites(cluster.Local.AuditLogPath(), "sail-operator", start, installEnd.Add(2*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	rep.add(b, "operator write requests during install", float64(writes), "requests", summarize(by))
	idle, byIdle, err := framework.CountWrites(cluster.Local.AuditLogPath(), "sail-operator", idleStart, idleEnd)
	if err != nil {
		b.Fatal(err)
	}
	rep.add(b, "operator write requests in 60 s idle", float64(idle), "requests", "target 0 "+summarize(byIdle))
	if rss, err := rssKiB(op.PID()); err == nil {
		rep.add(b, "operator RSS after install + idle", rss/1024, "MiB", "")
	}
	rep.write(b)
}

// pollDeployment polls (every 5 ms) the istiod Deployment that kubectl is applying and returns when, since start,
// it was first seen and first seen Available.
func pollDeployment(b *testing.B, c client.Client, start time.Time) (created, available time.Duration) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		d := &appsv1.Deployment{}
		if c.Get(context.Background(), client.ObjectKey{Namespace: "istio-system", Name: "istiod"}, d) == nil {
			if created == 0 {
				created = time.Since(start)
			}
			if deploymentAvailable(d) {
				return created, time.Since(start)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Fatal("the kubectl-applied istiod Deployment did not become Available within 2 minutes")
	return 0, 0
}
