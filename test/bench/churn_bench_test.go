package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/operator"
)

// writeCounter counts the write requests that pass through it, by path.
type writeCounter struct {
	next   http.RoundTripper
	writes atomic.Int64
}

func (w *writeCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		if req.URL.Query().Get("watch") == "" {
			w.writes.Add(1)
		}
	}
	return w.next.RoundTrip(req)
}

// BenchmarkPodChurn creates and deletes 1,000 pods that use a revision and reports the renders, applies and write
// requests the operator issued meanwhile (target: no renders or applies; writes only for InUse transitions).
func BenchmarkPodChurn(b *testing.B) {
	ctx := context.Background()
	env := testenv.Start(b)
	c := env.Client
	counter := &writeCounter{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter }
	opts := operator.NewOptions()
	opts.MetricsAddr, opts.ProbeAddr, opts.Platform, opts.SkipControllerNameValidation = "0", "0", "kubernetes", true
	op, err := operator.New(cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	opCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = op.Start(opCtx) }()

	for _, ns := range []string{"istio-system", "churn"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.Create(ctx, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{Namespace: "istio-system"}}); err != nil {
		b.Fatal(err)
	}
	waitRevision(b, c, metav1.ConditionFalse)
	time.Sleep(2 * time.Second)

	const pods = 1000
	renders, applies, writes := op.Renderer.Stats().Renders, op.Applier.Stats().Applies, counter.writes.Load()
	start := time.Now()
	for i := 0; i < pods; i++ {
		// Already injected (the annotation), so the injection webhook, which has no istiod behind it here, is not called.
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "churn", Name: fmt.Sprintf("p-%04d", i),
			Annotations: map[string]string{"istio.io/rev": "default"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
		if err := c.Create(ctx, pod); err != nil {
			b.Fatal(err)
		}
	}
	waitRevision(b, c, metav1.ConditionTrue)
	if err := c.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace("churn"), client.GracePeriodSeconds(0)); err != nil {
		b.Fatal(err)
	}
	waitRevision(b, c, metav1.ConditionFalse)
	time.Sleep(2 * time.Second)
	elapsed := time.Since(start)

	rep := &report{name: "pod-churn"}
	rep.add(b, "pods created and deleted", pods, "pods", fmt.Sprintf("in %s, envtest API server", elapsed.Round(time.Millisecond)))
	rep.add(b, "renders during churn", float64(op.Renderer.Stats().Renders-renders), "renders", "target 0")
	rep.add(b, "applies during churn", float64(op.Applier.Stats().Applies-applies), "applies", "target 0")
	rep.add(b, "operator write requests during churn", float64(counter.writes.Load()-writes), "requests", "InUse False->True->False: 2 revision + 2 istio status patches expected")
	rep.write(b)
}

func waitRevision(b *testing.B, c client.Client, inUse metav1.ConditionStatus) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		rev := &sailv1.IstioRevision{}
		if c.Get(context.Background(), client.ObjectKey{Name: "default"}, rev) == nil {
			if cond := meta.FindStatusCondition(rev.Status.Conditions, sailv1.ConditionInUse); cond != nil && cond.Status == inUse {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("the revision's InUse did not become %s", inUse)
}
