package realistiod

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

const waitFor = 2 * time.Minute

// startOperator runs the operator for the test.
func startOperator(t *testing.T) *framework.Operator {
	op, err := cluster.StartOperator(t.TempDir(), "operator")
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	t.Cleanup(op.Stop)
	t.Cleanup(func() { op.DumpLogOnFailure(t) })
	return op
}

// startIstiod runs the real istiod of a revision for the test.
func startIstiod(t *testing.T, namespace, revision, version string) *framework.Istiod {
	g := NewWithT(t)
	ctx := context.Background()
	waitIstioCRDs(t)
	in, err := cluster.StartIstiod(ctx, framework.IstiodOptions{Namespace: namespace, Revision: revision,
		Version: version, Dir: t.TempDir()})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(in.Stop)
	t.Cleanup(func() { in.DumpLogOnFailure(t) })
	readyCtx, cancel := context.WithTimeout(ctx, waitFor)
	defer cancel()
	g.Expect(in.WaitReady(readyCtx)).To(Succeed())
	return in
}

// createNamespace creates a namespace with labels (once a namespace of that name from an earlier test is gone),
// deleted when the test ends (which waits until it is gone).
func createNamespace(t *testing.T, name string, labels map[string]string) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	// A previous test's namespace of that name may still be terminating: wait until it is gone.
	NewWithT(t).Eventually(func() error { return cluster.Client.Create(ctx, ns.DeepCopy()) }, waitFor).Should(Succeed(),
		"namespace %s is created", name)
	t.Cleanup(func() {
		// Wait until it is gone, so that the next test's istiod never meets it.
		_ = cluster.Client.Delete(ctx, ns)
		NewWithT(t).Eventually(func() bool {
			return apierrors.IsNotFound(cluster.Client.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{}))
		}, waitFor).Should(BeTrue(), "namespace %s is deleted", name)
	})
}

// createIstio creates an Istio and waits for it to be Ready; it is deleted when the test ends.
func createIstio(t *testing.T, istio *sailv1.Istio) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(cluster.Client.Create(ctx, istio)).To(Succeed())
	t.Cleanup(func() { deleteIstio(t, istio.Name) })
	g.Eventually(readyStatus(istio.Name), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
}

// deleteIstio deletes an Istio and waits until it is gone.
func deleteIstio(t *testing.T, name string) {
	ctx := context.Background()
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_ = cluster.Client.Delete(ctx, istio)
	NewWithT(t).Eventually(func() bool {
		return apierrors.IsNotFound(cluster.Client.Get(ctx, client.ObjectKeyFromObject(istio), istio))
	}, waitFor).Should(BeTrue(), "Istio %s is deleted", name)
}

// readyStatus returns "<status>: <message>" of an Istio's Ready condition at its current generation.
func readyStatus(name string) func() string {
	return func() string {
		istio := &sailv1.Istio{}
		if err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: name}, istio); err != nil {
			return err.Error()
		}
		cond := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionReady)
		if cond == nil || istio.Status.ObservedGeneration != istio.Generation {
			return "pending"
		}
		out := string(cond.Status) + ": " + cond.Message
		if rec := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionReconciled); rec != nil && rec.Status != metav1.ConditionTrue {
			out += " (Reconciled: " + rec.Reason + ": " + rec.Message + ")"
		}
		return out
	}
}

// waitIstioCRDs waits until every Istio CRD (*.istio.io), which Sail installs, is established: a pod of istiod
// starts long after, while a process started here could list a kind the API server does not serve yet.
func waitIstioCRDs(t *testing.T) {
	NewWithT(t).Eventually(func() error { return cluster.IstioCRDsEstablished(context.Background()) }, waitFor).
		Should(Succeed(), "Sail installs Istio's CRDs")
}

// istioClient waits for Istio's CRDs and returns a client whose REST mapper knows Istio's kinds (the cluster's
// client was made before they existed).
func istioClient(t *testing.T) client.Client {
	waitIstioCRDs(t)
	c, err := client.New(cluster.Config, client.Options{Scheme: cluster.Client.Scheme()})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return c
}

// testPod is a pod of one container, labelled labels.
func testPod(namespace, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}},
	}
}

// sidecarOf returns the istio-proxy container of an injected pod (a native sidecar among the init containers, or
// a container), or nil when the pod was not injected.
func sidecarOf(pod *corev1.Pod) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == "istio-proxy" {
				return &list[i]
			}
		}
	}
	return nil
}
