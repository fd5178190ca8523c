package localcluster

import (
	"context"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRestartControlPlane restarts the API server and etcd of a running cluster: both run as new processes,
// what was stored before is still there, the cluster accepts writes again, and Stop leaves no process behind.
func TestRestartControlPlane(t *testing.T) {
	binDir := binDirOrSkip(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	opts := Options{Name: "restart", BinDir: binDir, WorkDir: t.TempDir(), Nodes: 1, Output: io.Discard}
	c, err := Start(ctx, opts)
	if err != nil {
		_ = Delete(context.Background(), opts)
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if left := c.processes(); len(left) != 0 {
			t.Errorf("processes %v still run after Stop", left)
		}
	})
	cs, err := c.clientset()
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	for _, name := range []string{ComponentAPIServer, ComponentEtcd} {
		b, err := os.ReadFile(c.pidFile(name))
		if err != nil {
			t.Fatal(err)
		}
		before[name] = string(b)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	oldPids := c.processes()

	start := time.Now()
	if err := c.RestartControlPlane(ctx); err != nil {
		t.Fatalf("RestartControlPlane: %v", err)
	}
	t.Logf("restarted the API server and etcd in %v", time.Since(start).Round(time.Millisecond))
	for name, old := range before {
		b, err := os.ReadFile(c.pidFile(name))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) == old {
			t.Errorf("%s still runs as pid %s: it was not restarted", name, old)
		}
	}
	if got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{}); err != nil || got.Data["k"] != "v" {
		t.Errorf("the ConfigMap stored before the restart: %v, %v", got, err)
	}
	cm.Name = "after"
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Errorf("writing after the restart: %v", err)
	}
	if running := c.processes(); len(running) != len(oldPids) || slices.Equal(running, oldPids) {
		t.Errorf("cluster processes %v after the restart, %v before: want as many, two of them new", running, oldPids)
	}
}
