package realistiod

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

// appDeployment is a Deployment of two replicas of one container.
func appDeployment(namespace, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	replicas := int32(2)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}},
			},
		},
	}
}

// injection summarizes the running pods of namespaces as "<namespace>: <injecting revision> <proxy image>" lines,
// sorted; "not injected" for a pod without istio-proxy.
func injection(namespaces ...string) func() []string {
	return func() []string {
		var out []string
		for _, ns := range namespaces {
			pods := &corev1.PodList{}
			if err := cluster.Client.List(context.Background(), pods, client.InNamespace(ns)); err != nil {
				return []string{err.Error()}
			}
			for _, pod := range pods.Items {
				if pod.DeletionTimestamp != nil {
					continue
				}
				line := ns + ": not injected"
				if sidecar := sidecarOf(&pod); sidecar != nil {
					line = fmt.Sprintf("%s: %s %s", ns, pod.Annotations["istio.io/rev"], sidecar.Image)
				}
				out = append(out, line)
			}
		}
		sort.Strings(out)
		return out
	}
}

// each repeats line for every namespace, twice (two replicas each), sorted.
func each(line string, namespaces ...string) []string {
	var out []string
	for _, ns := range namespaces {
		out = append(out, ns+": "+line, ns+": "+line)
	}
	sort.Strings(out)
	return out
}

// TestRealIstiod_CanaryUpgradeWithUpdateWorkloads upgrades a RevisionBased Istio named default from 1.30 to 1.31
// with updateWorkloads while the real istiod of each version runs: workloads injected by the 1.30 istiod through
// a named revision, the managed default tag (istio-injection=enabled) and an IstioRevisionTag are restarted by
// Sail and injected again by the real 1.31 istiod; the old revision is then pruned.
func TestRealIstiod_CanaryUpgradeWithUpdateWorkloads(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	testStart := time.Now()
	startOperator(t)
	createNamespace(t, "istio-system", nil)
	grace := int64(5)
	tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Spec: sailv1.IstioRevisionTagSpec{
		TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: "default"}}}
	g.Expect(c.Create(ctx, tag)).To(Succeed())
	t.Cleanup(func() { _ = c.Delete(ctx, tag) })
	createIstio(t, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{
		Version: "v1.30.0", Namespace: "istio-system",
		UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased, UpdateWorkloads: true,
			InactiveRevisionDeletionGracePeriodSeconds: &grace},
	}})
	old := startIstiod(t, "istio-system", "default-v1-30-0", "v1.30.0")

	apps := []string{"app-rev", "app-default", "app-tag"}
	createNamespace(t, "app-rev", map[string]string{"istio.io/rev": "default-v1-30-0"})
	createNamespace(t, "app-default", map[string]string{"istio-injection": "enabled"})
	createNamespace(t, "app-tag", map[string]string{"istio.io/rev": "prod"})
	for _, ns := range apps {
		g.Expect(c.Create(ctx, appDeployment(ns, "web"))).To(Succeed())
	}
	g.Eventually(injection(apps...), waitFor).Should(Equal(each("default-v1-30-0 docker.io/istio/proxyv2:1.30.0", apps...)),
		"the real 1.30 istiod injected every pod: named revision, default tag, revision tag")

	start := time.Now()
	setVersion(t, "default", "v1.31.0")
	g.Eventually(func() error { return cluster.IstiodInstalled(ctx, "istio-system", "default-v1-31-0") },
		waitFor).Should(Succeed(), "Sail created the new revision's istiod Deployment and Service")
	startIstiod(t, "istio-system", "default-v1-31-0", "v1.31.0")
	g.Eventually(injection(apps...), 3*waitFor).Should(Equal(each("default-v1-31-0 docker.io/istio/proxyv2:1.31.0", apps...)),
		"Sail restarted every workload and the real 1.31 istiod injected them")
	t.Logf("workloads moved to the new revision %s after the version change", time.Since(start).Round(time.Second))
	// The old revision is pruned once unused; its istiod is stopped then, as its pod would be.
	var retired time.Time
	g.Eventually(func() bool {
		rev := &sailv1.IstioRevision{}
		err := c.Get(ctx, client.ObjectKey{Name: "default-v1-30-0"}, rev)
		if retired.IsZero() && (apierrors.IsNotFound(err) || rev.DeletionTimestamp != nil) {
			retired = time.Now()
			old.Stop()
		}
		return apierrors.IsNotFound(err)
	}, waitFor, 100*time.Millisecond).Should(BeTrue(), "the old revision is pruned once unused")
	ns := &corev1.Namespace{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "app-rev"}, ns)).To(Succeed())
	g.Expect(ns.Labels).To(HaveKeyWithValue("istio.io/rev", "default-v1-31-0"))
	g.Expect(sailWebhookWrites(t, testStart)).To(ConsistOf([]string{
		"create istiod-default-validator", "create istio-sidecar-injector-default-v1-30-0",
		"create istio-validator-default-v1-30-0-istio-system", "create istio-revision-tag-default",
		"create istio-revision-tag-prod", "create istio-sidecar-injector-default-v1-31-0",
		"create istio-validator-default-v1-31-0-istio-system", "retarget istio-revision-tag-prod",
		"retarget istiod-default-validator", "retarget istio-revision-tag-default",
		"delete istio-sidecar-injector-default-v1-30-0", "delete istio-validator-default-v1-30-0-istio-system",
	}), "Sail wrote each webhook configuration once per change of its own, never in reply to istiod")
	g.Expect(unexpectedErrors(t, old, retired.Add(-time.Second))).To(BeEmpty())
	g.Expect(readyStatus("default")()).To(HavePrefix("True"))
}

// sailWebhookWrites lists Sail's writes to webhook configurations since from: "create <name>" for the
// first write of a name, "retarget <name>" for a later patch, "delete <name>".
func sailWebhookWrites(t *testing.T, from time.Time) []string {
	time.Sleep(2 * time.Second) // let the audit log flush
	writes, err := framework.AuditWrites(cluster.Local.AuditLogPath(), "sail-operator", from, time.Now())
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	seen := map[string]bool{}
	var out []string
	for _, w := range writes {
		if w.Resource != "validatingwebhookconfigurations" && w.Resource != "mutatingwebhookconfigurations" {
			continue
		}
		verb := w.Verb
		switch {
		case verb == "delete":
		case seen[w.Name]:
			verb = "retarget"
		default:
			verb = "create"
		}
		seen[w.Name] = true
		out = append(out, verb+" "+w.Name)
	}
	return out
}

// setVersion changes an Istio's spec.version.
func setVersion(t *testing.T, name, version string) {
	ctx := context.Background()
	istio := &sailv1.Istio{}
	g := NewWithT(t)
	g.Expect(cluster.Client.Get(ctx, client.ObjectKey{Name: name}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version = version
	g.Expect(cluster.Client.Patch(ctx, istio, patch)).To(Succeed())
}
