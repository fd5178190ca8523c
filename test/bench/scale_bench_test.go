package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/operator"
)

// The scale of BenchmarkScaleMemory: issue 15's 50 nodes, 5,000 pods and 5,000 ConfigMaps, spread over
// scaleNamespaces namespaces of which the first scaleInjected are labelled for injection.
const (
	scaleNodes      = 50
	scaleNamespaces = 5
	scaleInjected   = 2
	scalePods       = 5000
	scaleConfigMaps = 5000
)

// BenchmarkScaleMemory reports the operator's peak resident memory (VmHWM) with an Istio installed on a cluster of
// 50 nodes, 5,000 pods and 5,000 ConfigMaps (target <= 80 MB).
func BenchmarkScaleMemory(b *testing.B) {
	ctx := context.Background()
	pprofAddr := freeLoopbackAddr(b)
	flags := []string{"--pprof-bind-address=" + pprofAddr}
	if limit := os.Getenv("SAIL_BENCH_MEMORY_LIMIT"); limit != "" {
		flags = append(flags, "--memory-limit="+limit) // to measure another Go memory limit than the default
	}
	env := startOpsEnv(b, ctx, "sail-bench-scale", scaleNodes, flags...)
	defer func() { env.op.Stop(); env.injector.Stop(); _ = env.cluster.Local.Stop(ctx) }()
	c := env.cluster.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}); err != nil {
		b.Fatal(err)
	}
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{Namespace: "istio-system",
		Values: &sailv1.Values{IstiodRemote: &sailv1.IstiodRemoteConfig{InjectionURL: env.injector.URL()}}}}
	if err := c.Create(ctx, istio); err != nil {
		b.Fatal(err)
	}
	waitIstioReady(b, c)
	b.ResetTimer()
	start := time.Now()
	fill := fastClient(b, env.cluster.Config)
	for i := range scaleNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("scale-%d", i)}}
		if i < scaleInjected {
			ns.Labels = map[string]string{"istio-injection": "enabled"}
		}
		if err := c.Create(ctx, ns); err != nil {
			b.Fatal(err)
		}
	}
	createAll(b, scalePods+scaleConfigMaps, func(i int) client.Object {
		if i >= scalePods {
			i -= scalePods
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("scale-%d", i%scaleNamespaces), Name: fmt.Sprintf("cm-%05d", i)},
				Data: map[string]string{"config.yaml": strings.Repeat("x", 256)}}
		}
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("scale-%d", i%scaleNamespaces), Name: fmt.Sprintf("pod-%05d", i),
			Labels: map[string]string{"app": fmt.Sprintf("app-%d", i%50)}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
	}, fill)
	running := waitRunning(b, c, scalePods)
	time.Sleep(10 * time.Second) // let the operator take in the last events
	b.StopTimer()
	rep := &report{name: "scale-memory"}
	rep.add(b, "objects created", float64(scalePods+scaleConfigMaps), "objects",
		fmt.Sprintf("%d pods (%d Running) + %d ConfigMaps on %d nodes in %s", scalePods, running, scaleConfigMaps, scaleNodes, time.Since(start).Round(time.Second)))
	hwm, rss := procStatusKiB(b, env.op.PID(), "VmHWM:"), procStatusKiB(b, env.op.PID(), "VmRSS:")
	rep.add(b, "operator peak RSS (VmHWM)", hwm/1000, "MB", "target <= 80")
	anon, file := procStatusKiB(b, env.op.PID(), "RssAnon:"), procStatusKiB(b, env.op.PID(), "RssFile:")
	rep.add(b, "operator RSS at the end (VmRSS)", rss/1000, "MB", fmt.Sprintf("%.1f MB anonymous (Go heap, stacks, runtime), "+
		"%.1f MB file-backed (the binary's pages); heap profile: bench-scale-memory.heap (go tool pprof)", anon/1000, file/1000))
	saveHeapProfile(b, pprofAddr)
	rep.write(b)
}

// freeLoopbackAddr returns a loopback address with a port free a moment ago.
func freeLoopbackAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// saveHeapProfile writes the operator's heap profile to $SAIL_BENCH_OUT/bench-scale-memory.heap.
func saveHeapProfile(b *testing.B, addr string) {
	dir := os.Getenv("SAIL_BENCH_OUT")
	if dir == "" {
		return
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap")
	if err != nil {
		b.Fatalf("getting the operator's heap profile: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bench-scale-memory.heap"), data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// fastClient is a client for filling the cluster, with a higher rate limit than the framework's.
func fastClient(b *testing.B, cfg *rest.Config) client.Client {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 500, 1000
	c, err := client.New(cfg, client.Options{Scheme: operator.NewScheme()})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// createAll creates the n objects that object returns, with 8 workers.
func createAll(b *testing.B, n int, object func(i int) client.Object, c client.Client) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if err := c.Create(context.Background(), object(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// waitRunning waits (up to 10 minutes) until n pods are Running and returns how many are.
func waitRunning(b *testing.B, c client.Client, n int) int {
	deadline := time.Now().Add(10 * time.Minute)
	running := 0
	for time.Now().Before(deadline) {
		pods := &corev1.PodList{}
		if err := c.List(context.Background(), pods); err == nil {
			running = 0
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodRunning && strings.HasPrefix(p.Namespace, "scale-") {
					running++
				}
			}
			if running >= n {
				return running
			}
		}
		time.Sleep(5 * time.Second)
	}
	b.Logf("only %d of %d pods Running after 10 minutes", running, n)
	return running
}

// procStatusKiB reads a kB field (VmRSS:, VmHWM:) of /proc/<pid>/status.
func procStatusKiB(b *testing.B, pid int, field string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			var kib float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kib); err != nil {
				b.Fatal(err)
			}
			return kib
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
