package bench

import (
	"context"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNoopReconcile measures a reconcile of an IstioRevision (and of its Istio) that has nothing to change:
// CPU time per reconcile, renders and write requests it causes.
func BenchmarkNoopReconcile(b *testing.B) {
	ctx := context.Background()
	env := testenv.Start(b)
	op := env.StartOperator(b)
	c := env.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}); err != nil {
		b.Fatal(err)
	}
	if err := c.Create(ctx, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{Namespace: "istio-system"}}); err != nil {
		b.Fatal(err)
	}
	// envtest runs no Deployment controller: mark istiod available once it exists.
	deadline := time.Now().Add(time.Minute)
	for {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "istiod"}, d); err == nil {
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
				Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue},
					{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}}}
			if c.Status().Update(ctx, d) == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("istiod Deployment did not appear")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		istio := &sailv1.Istio{}
		if c.Get(ctx, client.ObjectKey{Name: "default"}, istio) == nil && meta.IsStatusConditionTrue(istio.Status.Conditions, sailv1.ConditionReady) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the Istio did not become Ready: %+v", istio.Status.Conditions)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // let the operator's own reconciles settle
	req := reconcile.Request{NamespacedName: client.ObjectKey{Name: "default"}}
	// One reconcile after settling, so what the applier remembers is current.
	if _, err := op.Revision.Reconcile(ctx, req); err != nil {
		b.Fatal(err)
	}
	rendersBefore, appliesBefore := op.Renderer.Stats(), op.Applier.Stats()
	cpuBefore := cpuTime()
	n := 0
	for b.Loop() {
		n++
		if _, err := op.Revision.Reconcile(ctx, req); err != nil {
			b.Fatal(err)
		}
		if _, err := op.Istio.Reconcile(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpuBefore
	renders, applies := op.Renderer.Stats(), op.Applier.Stats()
	rep := &report{name: "noop-reconcile"}
	rep.add(b, "CPU per no-op reconcile (revision + istio)", float64(cpu.Microseconds())/1000/float64(n), "ms/op", "target < 5; includes background work of the process")
	rep.add(b, "renders during no-op reconciles", float64(renders.Renders-rendersBefore.Renders), "renders", "cache hits: "+itoa(renders.CacheHits-rendersBefore.CacheHits))
	rep.add(b, "server-side applies during no-op reconciles", float64(applies.Applies-appliesBefore.Applies), "applies", "target 0")
	rep.write(b)
}

func itoa(n int64) string {
	return formatInt(n)
}
