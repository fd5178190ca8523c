package multicluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

const waitFor = 2 * time.Minute

// installPrimary runs the operator in the primary cluster, installs the default revision of Istio v1.31.0 as
// cluster cluster-a and waits until it is Ready.
func installPrimary(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	op, err := primary.StartOperator(t.TempDir(), "operator")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(op.Stop)
	t.Cleanup(func() { op.DumpLogOnFailure(t) })
	g.Expect(primary.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}})).To(Succeed())
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{
		Version: "v1.31.0", Namespace: "istio-system", Values: &sailv1.Values{Global: &sailv1.GlobalConfig{
			MeshID: "mesh1", Network: "network1", MultiCluster: &sailv1.MultiClusterConfig{ClusterName: "cluster-a"}}}}}
	g.Expect(primary.Client.Create(ctx, istio)).To(Succeed())
	g.Eventually(func() string {
		got := &sailv1.Istio{}
		if err := primary.Client.Get(ctx, client.ObjectKey{Name: "default"}, got); err != nil {
			return err.Error()
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, sailv1.ConditionReady)
		if cond == nil {
			return "no Ready condition"
		}
		return string(cond.Status) + ": " + cond.Message
	}, waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	g.Eventually(func() error { return primary.IstiodInstalled(ctx, "istio-system", "default") }, waitFor).Should(Succeed())
}

// applySecret applies a Secret in the primary cluster.
func applySecret(t *testing.T, s *corev1.Secret) {
	t.Helper()
	existing := &corev1.Secret{}
	err := primary.Client.Get(context.Background(), client.ObjectKeyFromObject(s), existing)
	if err == nil {
		existing.Data = s.Data
		NewWithT(t).Expect(primary.Client.Update(context.Background(), existing)).To(Succeed())
		return
	}
	NewWithT(t).Expect(primary.Client.Create(context.Background(), s)).To(Succeed())
}

// debugToken returns a token of the istiod ServiceAccount for istiod's debug endpoints, which only answer
// requests from other addresses than localhost when they carry a token of a ServiceAccount of istiod's namespace.
func debugToken(t *testing.T) string {
	t.Helper()
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"istio-ca"}}}
	got, err := kubernetes.NewForConfigOrDie(primary.Config).CoreV1().ServiceAccounts("istio-system").CreateToken(
		context.Background(), "istiod", tr, metav1.CreateOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return got.Status.Token
}

// debug returns the body of one of istiod's debug endpoints, or the error's text.
func debug(in *framework.Istiod, token, path string) string {
	req, err := http.NewRequest(http.MethodGet, "http://"+in.IP+":8080"+path, nil)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("GET %s: %s %v: %s", path, resp.Status, err, body)
	}
	return string(body)
}

// clusterStatus returns the sync status istiod's /debug/clusterz reports for a cluster, or why there is none.
func clusterStatus(in *framework.Istiod, token, id string) string {
	body := debug(in, token, "/debug/clusterz")
	var clusters []struct {
		ID         string `json:"id"`
		SyncStatus string `json:"syncStatus"`
	}
	if err := json.Unmarshal([]byte(body), &clusters); err != nil {
		return "clusterz: " + err.Error() + ": " + body
	}
	for _, c := range clusters {
		if c.ID == id {
			return c.SyncStatus
		}
	}
	return "not listed: " + body
}

// createRemoteService creates a Service in namespace sample of the remote cluster.
func createRemoteService(t *testing.T, name string) {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "sample", Name: name}, Spec: corev1.ServiceSpec{
		Ports: []corev1.ServicePort{{Name: "http", Port: 80}}, Selector: map[string]string{"app": name}}}
	NewWithT(t).Expect(remote.Client.Create(context.Background(), svc)).To(Succeed())
	NewWithT(t).Expect(svc.Spec.ClusterIP).To(HavePrefix("10.1."), "the remote cluster's own Service range")
}

// logLines returns the lines of istiod's log that contain every one of words.
func logLines(in *framework.Istiod, words ...string) []string {
	data, _ := os.ReadFile(in.LogPath)
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		match := true
		for _, w := range words {
			match = match && strings.Contains(line, w)
		}
		if match {
			out = append(out, line)
		}
	}
	return out
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

	code, secret, stderr := createRemoteSecret(t, "--name", "cluster-b")
	g.Expect(code).To(Equal(0), stderr)
	applySecret(t, secret)

	in, err := primary.StartIstiod(ctx, framework.IstiodOptions{Namespace: "istio-system", Revision: "default",
		Version: "v1.31.0", Dir: t.TempDir()})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(in.Stop)
	t.Cleanup(func() { in.DumpLogOnFailure(t) })
	readyCtx, cancel := context.WithTimeout(ctx, waitFor)
	defer cancel()
	g.Expect(in.WaitReady(readyCtx)).To(Succeed())
	token := debugToken(t)

	g.Eventually(func() string { return clusterStatus(in, token, "cluster-b") }, waitFor).Should(Equal("synced"))
	registry := func() string { return debug(in, token, "/debug/registryz") }
	g.Eventually(registry, waitFor).Should(ContainSubstring("before.sample.svc.cluster.local"))
	t.Logf("/debug/clusterz: %s", debug(in, token, "/debug/clusterz"))

	code, rotated, stderr := createRemoteSecret(t, "--name", "cluster-b")
	g.Expect(code).To(Equal(0), stderr)
	applySecret(t, rotated)
	g.Eventually(func() []string { return logLines(in, "Update cluster", "cluster-b") }, waitFor).ShouldNot(BeEmpty(),
		"istiod picks up the rotated secret")
	g.Eventually(func() []string { return logLines(in, "kube controller for cluster-b synced") }, waitFor).Should(HaveLen(2),
		"the cluster built from the rotated secret syncs (the old one is stopped after)")
	t.Logf("istiod on the rotated secret: %s", strings.Join(logLines(in, "cluster-b"), "\n"))
	createRemoteService(t, "after")
	g.Eventually(registry, waitFor).Should(ContainSubstring("after.sample.svc.cluster.local"))
	g.Eventually(func() string { return clusterStatus(in, token, "cluster-b") }, waitFor).Should(Equal("synced"))
	g.Expect(logLines(in, "\terror\t", "cluster-b")).To(BeEmpty(), "no error about the remote cluster")
}
