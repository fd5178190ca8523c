package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

// opsPods and opsNamespaces size the churn and relabel scenarios of BenchmarkOperatorCosts (issue 15's table).
const (
	opsPods       = 200
	opsNamespaces = 200
)

// opsEnv is the cluster, injector and operator process of BenchmarkOperatorCosts.
type opsEnv struct {
	cluster  *framework.Cluster
	injector *framework.Injector
	op       *framework.Operator
	flags    []string
	metrics  string
	logDir   string
	tail     *framework.AuditTail
	pprof    string // the operator's pprof address, "" when it serves none
}

// BenchmarkOperatorCosts measures, against a kwok cluster with the operator as a separate process, what the
// operator costs where nobody waits: the writes of a cold install (and how many of them changed nothing), the writes
// of a restart with nothing changed, the reconciles, writes and CPU of 200 pods created and deleted in an injected
// namespace, and the writes of 200 namespaces labelled for injection.
func BenchmarkOperatorCosts(b *testing.B) {
	ctx := context.Background()
	pprofAddr := freeLoopbackAddr(b)
	env := startOpsEnv(b, ctx, "sail-bench-ops", 3, "--pprof-bind-address="+pprofAddr)
	env.pprof = pprofAddr
	defer func() { env.op.Stop(); env.injector.Stop(); _ = env.cluster.Local.Stop(ctx) }()
	rep := &report{name: "operator-costs"}
	b.ResetTimer()
	benchColdInstall(b, env, rep)
	benchRestart(b, env, rep)
	benchPodChurn(b, env, rep)
	benchRelabel(b, env, rep)
	b.StopTimer()
	rep.write(b)
}

func startOpsEnv(b *testing.B, ctx context.Context, name string, nodes int, extraFlags ...string) *opsEnv {
	if err := framework.DeleteCluster(ctx, name); err != nil {
		b.Fatal(err)
	}
	cluster, err := framework.StartCluster(ctx, name, nodes, framework.WriteAuditPolicy())
	if err != nil {
		b.Fatal(err)
	}
	injector, err := framework.StartInjector(ctx, cluster.Client)
	if err != nil {
		b.Fatal(err)
	}
	flags, addr, err := framework.PlainMetricsFlags()
	if err != nil {
		b.Fatal(err)
	}
	flags = append(flags, extraFlags...)
	env := &opsEnv{cluster: cluster, injector: injector, flags: flags, metrics: addr, logDir: b.TempDir()}
	if out := os.Getenv("SAIL_BENCH_OUT"); out != "" {
		env.logDir = out
	}
	if env.op, err = cluster.StartOperator(env.logDir, "bench-"+name+"-operator", flags...); err != nil {
		b.Fatal(err)
	}
	if env.tail, err = framework.NewAuditTail(cluster.Local.AuditLogPath(), "sail-operator"); err != nil {
		b.Fatal(err)
	}
	return env
}

// settle waits until the operator has sent no write for 3 s and returns the writes it sent meanwhile.
func (e *opsEnv) settle(b *testing.B) []framework.AuditWrite {
	var all []framework.AuditWrite
	last, deadline := time.Now(), time.Now().Add(3*time.Minute)
	for time.Since(last) < 3*time.Second {
		if time.Now().After(deadline) {
			b.Fatalf("the operator did not stop writing within 3 minutes (log %s)", e.op.LogPath)
		}
		time.Sleep(100 * time.Millisecond)
		ws, err := e.tail.Next()
		if err != nil {
			b.Fatal(err)
		}
		if len(ws) > 0 {
			all, last = append(all, ws...), time.Now()
		}
	}
	return all
}

func byResource(ws []framework.AuditWrite) map[string]int {
	by := map[string]int{}
	for _, w := range ws {
		by[w.Verb+" "+w.Resource]++
	}
	return by
}

func describeWrites(ws []framework.AuditWrite) string {
	parts := make([]string, 0, len(ws))
	for _, w := range ws {
		parts = append(parts, w.String())
	}
	return strings.Join(parts, "; ")
}

func benchColdInstall(b *testing.B, e *opsEnv, rep *report) {
	ctx := context.Background()
	c := e.cluster.Client
	for ns, labels := range map[string]map[string]string{"istio-system": nil, "churn": {"istio-injection": "enabled"}} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}); err != nil {
			b.Fatal(err)
		}
	}
	_ = e.settle(b)
	start := time.Now()
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{Namespace: "istio-system",
		Values: &sailv1.Values{IstiodRemote: &sailv1.IstiodRemoteConfig{InjectionURL: e.injector.URL()}}}}
	if err := c.Create(ctx, istio); err != nil {
		b.Fatal(err)
	}
	waitIstioReady(b, c)
	writes := e.settle(b)
	time.Sleep(time.Second) // let the audit log flush
	noops, err := framework.NoopWrites(e.cluster.Local.AuditLogPath(), "sail-operator", start, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	rep.add(b, "cold install: operator writes until settled", float64(len(writes)), "requests", summarize(byResource(writes)))
	rep.add(b, "cold install: writes that changed nothing", float64(len(noops)), "requests", "target 0 "+describeWrites(noops))
}

func waitIstioReady(b *testing.B, c client.Client) {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		got := &sailv1.Istio{}
		if c.Get(context.Background(), client.ObjectKey{Name: "default"}, got) == nil &&
			got.Status.ObservedGeneration == got.Generation && meta.IsStatusConditionTrue(got.Status.Conditions, sailv1.ConditionReady) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatal("the Istio did not become Ready within 3 minutes")
}

func benchRestart(b *testing.B, e *opsEnv, rep *report) {
	_ = e.settle(b)
	e.op.Stop()
	var err error
	if e.op, err = e.cluster.StartOperator(e.logDir, "bench-ops-operator-restarted", e.flags...); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r, _ := framework.ScrapeByLabel(e.metrics, "controller_runtime_reconcile_total", "controller")
		if r["istio"] > 0 && r["istiorevision"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the restarted operator did not reconcile its Istio and revision (log %s)", e.op.LogPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
	writes := e.settle(b)
	rep.add(b, "restart with nothing changed: operator writes", float64(len(writes)), "requests", "target 0 "+describeWrites(writes))
}

func (e *opsEnv) reconciles(b *testing.B) map[string]float64 {
	r, err := framework.ScrapeByLabel(e.metrics, "controller_runtime_reconcile_total", "controller")
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func benchPodChurn(b *testing.B, e *opsEnv, rep *report) {
	ctx := context.Background()
	c := e.cluster.Client
	_ = e.settle(b)
	before, cpu0 := e.reconciles(b), cpuSeconds(b, e.op.PID())
	start := time.Now()
	profiled := e.profileCPU(b, "bench-operator-churn.cpu")
	for i := range opsPods {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "churn", Name: fmt.Sprintf("churn-%03d", i)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
		if err := c.Create(ctx, pod); err != nil {
			b.Fatal(err)
		}
	}
	waitPods(b, c, "churn", opsPods)
	if err := c.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace("churn"), client.GracePeriodSeconds(0)); err != nil {
		b.Fatal(err)
	}
	waitPods(b, c, "churn", 0)
	writes := e.settle(b)
	<-profiled
	cpu, after := cpuSeconds(b, e.op.PID())-cpu0, e.reconciles(b)
	total, parts := 0.0, []string{}
	for _, name := range sortedKeys(after) {
		if d := after[name] - before[name]; d > 0 {
			total += d
			parts = append(parts, fmt.Sprintf("%s=%d", name, int(d)))
		}
	}
	elapsed := time.Since(start).Round(time.Millisecond)
	rep.add(b, "200-pod churn: reconciles (all controllers)", total, "reconciles", "target <= 10 "+strings.Join(parts, ", "))
	rep.add(b, "200-pod churn: operator writes", float64(len(writes)), "requests", summarize(byResource(writes)))
	rep.add(b, "200-pod churn: operator CPU", cpu, "s", fmt.Sprintf("target <= 0.5; utime+stime over %s incl. 3 s settling", elapsed))
}

// waitPods waits until namespace holds n pods (created pods injected, deleted pods gone).
func waitPods(b *testing.B, c client.Client, namespace string, n int) {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		pods := &corev1.PodList{}
		if c.List(context.Background(), pods, client.InNamespace(namespace)) == nil && len(pods.Items) == n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("namespace %s did not reach %d pods within 3 minutes", namespace, n)
}

func benchRelabel(b *testing.B, e *opsEnv, rep *report) {
	ctx := context.Background()
	c := e.cluster.Client
	for i := range opsNamespaces {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("relabel-%03d", i)}}); err != nil {
			b.Fatal(err)
		}
	}
	_ = e.settle(b)
	before := e.reconciles(b)
	for i := range opsNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("relabel-%03d", i)}}
		patch := []byte(`{"metadata":{"labels":{"istio-injection":"enabled"}}}`)
		if err := c.Patch(ctx, ns, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			b.Fatal(err)
		}
	}
	writes := e.settle(b)
	after := e.reconciles(b)
	rep.add(b, "label 200 namespaces for injection: operator writes", float64(len(writes)), "requests",
		fmt.Sprintf("target <= 2; %d IstioRevision reconciles; %s", int(after["istiorevision"]-before["istiorevision"]), summarize(byResource(writes))))
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// cpuSeconds is the user and system CPU time a process has used (utime + stime from /proc/<pid>/stat).
func cpuSeconds(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name (which may hold spaces) start after the last ')'; utime and stime are the
	// 14th and 15th fields of the line, the 12th and 13th after it.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("reading /proc/%d/stat: %q", pid, data)
	}
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times (100 on every Linux platform Go supports).
const clockTicks = 100

// profileCPU, when SAIL_BENCH_CPUPROFILE is set, records a 20 s CPU profile of the operator into
// $SAIL_BENCH_OUT/name (the profiler costs the operator some CPU, so the figures of a profiled run are a little
// higher). The returned channel is closed when the profile is written, or at once when none is recorded.
func (e *opsEnv) profileCPU(b *testing.B, name string) <-chan struct{} {
	done := make(chan struct{})
	dir := os.Getenv("SAIL_BENCH_OUT")
	if os.Getenv("SAIL_BENCH_CPUPROFILE") == "" || e.pprof == "" || dir == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		resp, err := http.Get("http://" + e.pprof + "/debug/pprof/profile?seconds=20")
		if err != nil {
			b.Logf("CPU profile: %v", err)
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}
		if err != nil {
			b.Logf("CPU profile: %v", err)
		}
	}()
	return done
}
