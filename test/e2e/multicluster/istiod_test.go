package multicluster

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

const waitFor = framework.MultiClusterWait

// installPrimary runs the operator in the primary cluster, installs the default revision of Istio v1.31.0 as
// cluster cluster-a and waits until it is Ready.
func installPrimary(t *testing.T) {
	primary.RunOperatorT(t)
	primary.CreateIstio(t, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{
		Version: "v1.31.0", Namespace: "istio-system", Values: &sailv1.Values{Global: &sailv1.GlobalConfig{
			MeshID: "mesh1", Network: "network1", MultiCluster: &sailv1.MultiClusterConfig{ClusterName: "cluster-a"}}}}})
}

// createRemoteService creates a Service in namespace sample of the remote cluster.
func createRemoteService(t *testing.T, name string) {
	t.Helper()
	NewWithT(t).Expect(remote.CreateService(t, "sample", name)).To(HavePrefix("10.1."),
		"the remote cluster's own Service range")
}

// TestRealIstiod_ReadsRemoteClusterThroughRemoteSecret installs Istio with Sail in the primary cluster, applies
// there the remote secret sailctl made for the remote cluster (whose reader RBAC comes from the istiod chart), and
// runs the real istiod: it lists cluster-b as synced in /debug/clusterz and the remote cluster's Services in
// /debug/registryz. After a rotation (a new secret applied, the old token rejected), istiod updates the cluster
// and still sees new remote Services.
func TestRealIstiod_ReadsRemoteClusterThroughRemoteSecret(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	installPrimary(t)
	installReaderRBAC(t, "istio-system")
	g.Expect(remote.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sample"}})).To(Succeed())
	createRemoteService(t, "before")

	code, secret, stderr := remote.CreateRemoteSecret(t, "--name", "cluster-b")
	g.Expect(code).To(Equal(0), stderr)
	primary.ApplySecret(t, secret)

	in := primary.StartIstiodT(t, framework.IstiodOptions{Namespace: "istio-system", Revision: "default",
		Version: "v1.31.0"})
	g.Eventually(func() string { return in.ClusterStatus("cluster-b") }, waitFor).Should(Equal("synced"))
	registry := func() string { return in.DebugText("/debug/registryz") }
	g.Eventually(registry, waitFor).Should(ContainSubstring("before.sample.svc.cluster.local"))
	t.Logf("/debug/clusterz: %s", in.DebugText("/debug/clusterz"))

	code, rotated, stderr := remote.CreateRemoteSecret(t, "--name", "cluster-b")
	g.Expect(code).To(Equal(0), stderr)
	primary.ApplySecret(t, rotated)
	g.Eventually(func() []string { return in.LogLines("Update cluster", "cluster-b") }, waitFor).ShouldNot(BeEmpty(),
		"istiod picks up the rotated secret")
	g.Eventually(func() []string { return in.LogLines("kube controller for cluster-b synced") }, waitFor).Should(HaveLen(2),
		"the cluster built from the rotated secret syncs (the old one is stopped after)")
	t.Logf("istiod on the rotated secret: %s", strings.Join(in.LogLines("cluster-b"), "\n"))
	createRemoteService(t, "after")
	g.Eventually(registry, waitFor).Should(ContainSubstring("after.sample.svc.cluster.local"))
	g.Eventually(func() string { return in.ClusterStatus("cluster-b") }, waitFor).Should(Equal("synced"))
	g.Expect(in.LogLines("\terror\t", "cluster-b")).To(BeEmpty(), "no error about the remote cluster")
}
