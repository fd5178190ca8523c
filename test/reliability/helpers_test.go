package reliability

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
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

// waitFor bounds every wait for convergence.
const waitFor = 2 * time.Minute

// operatorAgent is the user agent of the operator's requests in the audit log.
const operatorAgent = "sail-operator"

// quietFor is how long the operator must send no write for it to count as settled.
const quietFor = 3 * time.Second

// newTail starts reading the operator's writes from the audit log from now on.
func newTail(t *testing.T) *framework.AuditTail {
	t.Helper()
	tail, err := framework.NewAuditTail(cluster.Local.AuditLogPath(), operatorAgent)
	if err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	return tail
}

// settle waits until the operator has sent no write for quietFor and returns the writes it sent meanwhile.
func settle(t *testing.T, tail *framework.AuditTail) []framework.AuditWrite {
	t.Helper()
	return settleFor(t, tail, quietFor)
}

// afterOutageQuietFor is how long the operator must send no write to count as settled after the API server was
// down: client-go's event sink retries an event write that failed 10-12.5 s later (tools/events attemptRecording),
// so an event of the outage can still arrive that late, once.
const afterOutageQuietFor = 13 * time.Second

// settleFor waits until the operator has sent no write for quiet, and returns the writes it sent until then.
func settleFor(t *testing.T, tail *framework.AuditTail, quiet time.Duration) []framework.AuditWrite {
	t.Helper()
	var all []framework.AuditWrite
	last, deadline := time.Now(), time.Now().Add(waitFor)
	for time.Since(last) < quiet {
		if time.Now().After(deadline) {
			t.Fatalf("the operator did not stop writing within %s; its last writes: %s", waitFor, describe(lastWrites(all)))
		}
		time.Sleep(100 * time.Millisecond)
		ws, err := tail.Next()
		if err != nil {
			t.Fatalf("reading the audit log: %v", err)
		}
		if len(ws) > 0 {
			all, last = append(all, ws...), time.Now()
		}
	}
	return all
}

// lastWrites returns the last 20 writes.
func lastWrites(ws []framework.AuditWrite) []framework.AuditWrite {
	if len(ws) > 20 {
		return ws[len(ws)-20:]
	}
	return ws
}

// describe lists writes one a line, for failure messages.
func describe(ws []framework.AuditWrite) string {
	if len(ws) == 0 {
		return "none"
	}
	lines := make([]string, 0, len(ws))
	for _, w := range ws {
		lines = append(lines, w.Time.Format("15:04:05.000")+" "+w.String())
	}
	return "\n  " + strings.Join(lines, "\n  ")
}

// byKind counts writes by "<verb> <resource>", sorted, for reports.
func byKind(ws []framework.AuditWrite) string {
	by := map[string]int{}
	for _, w := range ws {
		by[w.Verb+" "+w.Resource]++
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, by[k]))
	}
	return strings.Join(parts, ", ")
}

// createNamespace creates a namespace with labels, deleted when the test ends.
func createNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	NewWithT(t).Eventually(func() error { return cluster.Client.Create(ctx, ns) }, waitFor, time.Second).Should(Succeed(),
		"a namespace %s of an earlier run may still be terminating", name)
	t.Cleanup(func() { _ = cluster.Client.Delete(ctx, ns) })
}

// istioReady fails unless the Istio observed its generation, is Ready and its active revision is active.
func istioReady(g Gomega, name, active string) *sailv1.Istio {
	istio := &sailv1.Istio{}
	g.Expect(cluster.Client.Get(context.Background(), client.ObjectKey{Name: name}, istio)).To(Succeed())
	g.Expect(istio.Status.ObservedGeneration).To(Equal(istio.Generation), "the Istio's status is current")
	g.Expect(meta.IsStatusConditionTrue(istio.Status.Conditions, sailv1.ConditionReady)).To(BeTrue(), "Ready: %+v", istio.Status.Conditions)
	g.Expect(istio.Status.ActiveRevisionName).To(Equal(active))
	return istio
}

// istiods returns the names of the istiod Deployments in ns, sorted.
func istiods(g Gomega, ns string) []string {
	list := &appsv1.DeploymentList{}
	g.Expect(cluster.Client.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, d := range list.Items {
		if strings.HasPrefix(d.Name, "istiod") {
			out = append(out, d.Name)
		}
	}
	sort.Strings(out)
	return out
}

// deleteIstio deletes an Istio and waits until it and its revisions are gone.
func deleteIstio(t *testing.T, name string) {
	ctx := context.Background()
	c := cluster.Client
	_ = c.Delete(ctx, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}})
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: name}, &sailv1.Istio{}))).To(BeTrue(), "the Istio is gone")
		revs := &sailv1.IstioRevisionList{}
		g.Expect(c.List(ctx, revs)).To(Succeed())
		g.Expect(revs.Items).To(BeEmpty(), "its revisions are gone")
	}, waitFor, time.Second).Should(Succeed())
}

// createDeployments creates n one-replica Deployments named app-<i> in ns.
func createDeployments(t *testing.T, ns string, n int) {
	for i := range n {
		labels := map[string]string{"app": fmt.Sprintf("app-%d", i)}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%d", i)},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}}}
		if err := cluster.Client.Create(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
}
