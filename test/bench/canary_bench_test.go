package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

// BenchmarkCanaryUpgrade upgrades a RevisionBased Istio with updateWorkloads while 100 Deployments in 10 namespaces
// run on the old revision, and reports the time from the version change to every workload on the new revision
// and to the old revision pruned, and the operator's write requests meanwhile (from the API server's audit log).
// The migration settings are the defaults (batches of 10, 5 s apart); the grace period is 5 s.
func BenchmarkCanaryUpgrade(b *testing.B) {
	ctx := context.Background()
	const (
		namespaces = 10
		perNS      = 10
		oldRev     = "canary-v1-30-0"
		newRev     = "canary-v1-31-0"
	)
	if err := framework.DeleteCluster(ctx, "sail-bench-canary"); err != nil {
		b.Fatal(err)
	}
	cluster, err := framework.StartCluster(ctx, "sail-bench-canary", 3, framework.AuditPolicy())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cluster.Local.Stop(ctx) }()
	c := cluster.Client
	injector, err := framework.StartInjector(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	defer injector.Stop()
	logDir := b.TempDir()
	if out := os.Getenv("SAIL_BENCH_OUT"); out != "" {
		logDir = out
	}
	op, err := cluster.StartOperator(logDir, "bench-canary-operator")
	if err != nil {
		b.Fatal(err)
	}
	defer op.Stop()

	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}); err != nil {
		b.Fatal(err)
	}
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "canary"}, Spec: sailv1.IstioSpec{
		Version: "v1.30-latest", Namespace: "istio-system",
		UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased, UpdateWorkloads: true,
			InactiveRevisionDeletionGracePeriodSeconds: ptr.To[int64](5)},
		Values: &sailv1.Values{IstiodRemote: &sailv1.IstiodRemoteConfig{InjectionURL: injector.URL()}},
	}}
	if err := c.Create(ctx, istio); err != nil {
		b.Fatal(err)
	}
	waitFor(b, 2*time.Minute, "the Istio to become Ready", func() bool {
		got := &sailv1.Istio{}
		return c.Get(ctx, client.ObjectKey{Name: "canary"}, got) == nil && got.Status.ObservedGeneration == got.Generation &&
			meta.IsStatusConditionTrue(got.Status.Conditions, sailv1.ConditionReady)
	})
	var nsNames []string
	for i := range namespaces {
		ns := fmt.Sprintf("mesh-%02d", i)
		nsNames = append(nsNames, ns)
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"istio.io/rev": oldRev}}}); err != nil {
			b.Fatal(err)
		}
		for j := range perNS {
			labels := map[string]string{"app": fmt.Sprintf("app-%02d", j)}
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%02d", j)},
				Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}}}
			if err := c.Create(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	}
	total := namespaces * perNS
	waitFor(b, 3*time.Minute, "every pod to run the old revision", func() bool {
		return framework.PodsByRevision(ctx, c, nsNames...)[oldRev] == total
	})
	time.Sleep(3 * time.Second)

	b.ResetTimer()
	start := time.Now()
	if err := c.Get(ctx, client.ObjectKey{Name: "canary"}, istio); err != nil {
		b.Fatal(err)
	}
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version = "v1.31-latest"
	if err := c.Patch(ctx, istio, patch); err != nil {
		b.Fatal(err)
	}
	var migrated, pruned time.Duration
	waitFor(b, 10*time.Minute, "every workload to move and the old revision to be pruned", func() bool {
		if migrated == 0 {
			if counts := framework.PodsByRevision(ctx, c, nsNames...); counts[newRev] == total && len(counts) == 1 {
				migrated = time.Since(start)
			}
		}
		if pruned == 0 && apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: oldRev}, &sailv1.IstioRevision{})) {
			pruned = time.Since(start)
		}
		return migrated > 0 && pruned > 0
	})
	b.StopTimer()
	end := time.Now()
	time.Sleep(2 * time.Second) // let the audit log flush
	writes, by, err := framework.CountWrites(cluster.Local.AuditLogPath(), "sail-operator", start, end)
	if err != nil {
		b.Fatal(err)
	}
	got := &sailv1.Istio{}
	if err := c.Get(ctx, client.ObjectKey{Name: "canary"}, got); err != nil {
		b.Fatal(err)
	}
	rep := &report{name: "canary-upgrade"}
	rep.add(b, "workloads moved", float64(got.Status.WorkloadMigration.Migrated), "workloads",
		fmt.Sprintf("%d Deployments in %d namespaces, batches of 10, 5 s apart (defaults)", total, namespaces))
	rep.add(b, "version change -> all workloads on new revision", migrated.Seconds(), "s", "")
	rep.add(b, "version change -> old revision pruned", pruned.Seconds(), "s", "grace period 5 s")
	rep.add(b, "operator write requests during the upgrade", float64(writes), "requests", summarize(by))
	rep.write(b)
}

// waitFor polls cond every 100 ms until it holds, or fails the benchmark after timeout.
func waitFor(b *testing.B, timeout time.Duration, what string, cond func() bool) {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
