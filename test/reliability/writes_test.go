package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

// churnPods is how many pods the churn creates and deletes.
const churnPods = 200

// churnWrites is what the churn may write: the revision's InUse message changes from "namespaces select this
// revision" to "... and pods use it" when the first pod appears and back when the last goes (one status write
// each); the pods themselves are never written to.
const churnWrites = 2

// churnReconciles is how many times the churn brings each controller back: the revision when its first pod appears
// and when its last pod goes, the only changes that can flip its usage, each followed by the reconcile that the
// revision's own status write brings (which finds nothing to do); the Istio and the revision tags, which follow the
// revision's status, once per status write.
var churnReconciles = map[string]float64{"istiorevision": 4, "istio": 2, "istiorevisiontag": 2}

// relabelNamespaces is how many namespaces the relabelling test labels for injection and unlabels again.
const relabelNamespaces = 200

// TestWrites_NothingChangedNothingWritten installs an InPlace Istio named default, waits until the operator
// settles, then checks from the API server's audit log that the install sent no write that changed nothing, that a
// no-op annotation of the Istio and 60 s of idling cost no write request, and that 200 pods created and deleted in
// an injected namespace cost no render and exactly churnWrites writes.
func TestWrites_NothingChangedNothingWritten(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	injector, err := framework.StartInjector(ctx, c)
	g.Expect(err).NotTo(HaveOccurred())
	defer injector.Stop()
	flags, metricsAddr, err := framework.PlainMetricsFlags()
	g.Expect(err).NotTo(HaveOccurred())
	logDir := t.TempDir()
	op, err := cluster.StartOperator(logDir, "operator", flags...)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { op.Stop() }()
	defer func() { op.DumpLogOnFailure(t) }()

	createNamespace(t, "writes-system", nil)
	createNamespace(t, "writes-apps", map[string]string{"istio-injection": "enabled"})
	tail := newTail(t)
	start := time.Now()
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{Namespace: "writes-system",
		Values: &sailv1.Values{IstiodRemote: &sailv1.IstiodRemoteConfig{InjectionURL: injector.URL()}}}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	defer deleteIstio(t, "default")
	g.Eventually(func(g Gomega) { istioReady(g, "default", "default") }, waitFor, 250*time.Millisecond).Should(Succeed())
	install := settle(t, tail)
	t.Logf("FIGURE install: %d operator writes until settled (%s), settled after %s", len(install), byKind(install),
		time.Since(start).Round(time.Second))
	time.Sleep(time.Second) // let the audit log flush
	noops, err := framework.NoopWrites(cluster.Local.AuditLogPath(), operatorAgent, start, time.Now())
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("FIGURE install: %d operator writes that changed nothing", len(noops))
	g.Expect(noops).To(BeEmpty(), "a cold install sends no write that changes nothing; these did: %s", describe(noops))

	t.Run("NoopAnnotate", func(t *testing.T) {
		reconciles := reconcileCount(t, metricsAddr, "istio")
		g := NewWithT(t)
		istio := &sailv1.Istio{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "default"}, istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Annotations = map[string]string{"reliability.sail.dev/noop": time.Now().Format(time.RFC3339Nano)}
		g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
		g.Eventually(func() float64 { return reconcileCount(t, metricsAddr, "istio") }, waitFor).Should(BeNumerically(">", reconciles),
			"the operator reconciles the annotated Istio")
		writes := settle(t, tail)
		t.Logf("FIGURE no-op annotate: %d operator writes", len(writes))
		g.Expect(writes).To(BeEmpty(), "a no-op annotation of the Istio costs no write; the operator wrote: %s", describe(writes))
	})

	t.Run("Idle60s", func(t *testing.T) {
		_ = settle(t, tail)
		time.Sleep(60 * time.Second)
		writes, err := tail.Next()
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		t.Logf("FIGURE 60 s idle: %d operator writes", len(writes))
		NewWithT(t).Expect(writes).To(BeEmpty(), "an idle operator writes nothing; it wrote: %s", describe(writes))
	})

	t.Run("OperatorRestart", func(t *testing.T) {
		g := NewWithT(t)
		_ = settle(t, tail)
		op.Stop()
		var err error
		op, err = cluster.StartOperator(logDir, "operator-restarted", flags...)
		g.Expect(err).NotTo(HaveOccurred())
		for _, controller := range []string{"istio", "istiorevision"} {
			scrape := func() (float64, error) { return framework.ScrapeMetric(metricsAddr, reconcileMetric(controller)) }
			g.Eventually(scrape, waitFor).Should(BeNumerically(">", 0), "the restarted operator reconciles every %s", controller)
		}
		writes := settle(t, tail)
		t.Logf("FIGURE operator restart with nothing changed: %d operator writes", len(writes))
		g.Expect(writes).To(BeEmpty(), "a restart with nothing changed costs no write; the operator wrote: %s", describe(writes))
	})

	t.Run("PodChurn", func(t *testing.T) {
		testPodChurn(t, tail, injector, metricsAddr)
	})

	t.Run("NamespaceRelabel", func(t *testing.T) {
		testNamespaceRelabel(t, tail, metricsAddr)
	})
}

// testPodChurn creates churnPods pods in the injected namespace writes-apps, waits until they are all injected,
// deletes them, and checks the renders and writes the operator spent meanwhile.
func testPodChurn(t *testing.T, tail *framework.AuditTail, injector *framework.Injector, metricsAddr string) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	_ = settle(t, tail)
	renders := metric(t, metricsAddr, "sail_chart_renders_total")
	reconciles := reconcilesByController(t, metricsAddr)
	start := time.Now()
	for i := range churnPods {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "writes-apps", Name: fmt.Sprintf("churn-%03d", i)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
		g.Expect(c.Create(ctx, pod)).To(Succeed())
	}
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, "writes-apps") }, waitFor).
		Should(Equal(map[string]int{"default": churnPods}), "every pod is injected by the revision default")
	g.Expect(c.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace("writes-apps"), client.GracePeriodSeconds(0))).To(Succeed())
	g.Eventually(func() []corev1.Pod {
		pods := &corev1.PodList{}
		_ = c.List(ctx, pods, client.InNamespace("writes-apps"))
		return pods.Items
	}, waitFor).Should(BeEmpty())
	writes := settle(t, tail)
	rendered := metric(t, metricsAddr, "sail_chart_renders_total") - renders
	reconciled := reconcilesSince(t, metricsAddr, reconciles)
	t.Logf("FIGURE pod churn: %d pods created and deleted in %s: %d renders, reconciles %v, %d operator writes (%s)",
		churnPods, time.Since(start).Round(time.Second), int(rendered), reconciled, len(writes), byKind(writes))
	g.Expect(reconciled).To(Equal(churnReconciles), "the revision is reconciled only when its usage can flip, the rest only when its status changes")
	g.Expect(injector.Err()).NotTo(HaveOccurred())
	g.Expect(rendered).To(BeZero(), "pods coming and going render nothing")
	g.Expect(writes).To(HaveLen(churnWrites), "pods coming and going cost exactly %d writes; the operator wrote: %s",
		churnWrites, describe(writes))
}

// metric scrapes one of the operator's metrics.
func metric(t *testing.T, addr, name string) float64 {
	t.Helper()
	v, err := framework.ScrapeMetric(addr, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// reconcileCount is how many reconciles the controller finished successfully.
func reconcileCount(t *testing.T, addr, controller string) float64 {
	return metric(t, addr, reconcileMetric(controller))
}

// reconcilesByController is how many reconciles each controller has finished, with any result.
func reconcilesByController(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	r, err := framework.ScrapeByLabel(addr, "controller_runtime_reconcile_total", "controller")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// reconcilesSince returns, for each controller that reconciled since before was scraped, how many times it did.
func reconcilesSince(t *testing.T, addr string, before map[string]float64) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, n := range reconcilesByController(t, addr) {
		if d := n - before[name]; d > 0 {
			out[name] = d
		}
	}
	return out
}

// reconcileMetric names the count of the controller's successful reconciles.
func reconcileMetric(controller string) string {
	return `controller_runtime_reconcile_total{controller="` + controller + `",result="success"}`
}

// testNamespaceRelabel labels relabelNamespaces namespaces for injection and unlabels them again while writes-apps
// keeps selecting the revision: its usage never flips, so the operator neither reconciles it nor writes.
func testNamespaceRelabel(t *testing.T, tail *framework.AuditTail, metricsAddr string) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	names := make([]string, relabelNamespaces)
	for i := range names {
		names[i] = fmt.Sprintf("relabel-%03d", i)
		createNamespace(t, names[i], nil)
	}
	_ = settle(t, tail)
	reconciles := reconcilesByController(t, metricsAddr)
	setInjection := func(value string) {
		for _, name := range names {
			ns := &corev1.Namespace{}
			g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, ns)).To(Succeed())
			patch := client.MergeFrom(ns.DeepCopy())
			if value == "" {
				delete(ns.Labels, "istio-injection")
			} else {
				ns.Labels = map[string]string{"istio-injection": value}
			}
			g.Expect(c.Patch(ctx, ns, patch)).To(Succeed())
		}
	}
	setInjection("enabled")
	setInjection("")
	writes := settle(t, tail)
	reconciled := reconcilesSince(t, metricsAddr, reconciles)
	t.Logf("FIGURE namespace relabel: %d namespaces labelled for injection and unlabelled: reconciles %v, %d operator writes",
		relabelNamespaces, reconciled, len(writes))
	g.Expect(writes).To(BeEmpty(), "namespaces joining and leaving beside another cost no write; the operator wrote: %s", describe(writes))
	g.Expect(reconciled).To(BeEmpty(), "the revision's usage never flipped, so no controller reconciled")
}
