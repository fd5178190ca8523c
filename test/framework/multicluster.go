package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/cli/sailctl"
)

// MultiClusterWait bounds each wait of the multi-cluster helpers.
const MultiClusterWait = 2 * time.Minute

// ClusterSpec names a cluster a multi-cluster test binary starts and where to store it.
type ClusterSpec struct {
	Options ClusterOptions
	Into    **Cluster
}

// RunMainClusters starts (or reuses) every cluster of specs, stores them, runs the tests and stops the clusters;
// it returns the exit code for os.Exit. Clusters of one test binary share its private network namespace, so give
// each one its own ServiceCIDR.
func RunMainClusters(m *testing.M, specs ...ClusterSpec) int {
	for _, s := range specs {
		c, err := startTimed(s.Options)
		if err != nil {
			return 1
		}
		defer stopCluster(c)
		*s.Into = c
	}
	return m.Run()
}

// startTimed starts a cluster and reports how long it took, or why it failed.
func startTimed(opts ClusterOptions) (*Cluster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := StartClusterWith(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot start the local cluster (run `make tools` first): %v\n", opts.Name, err)
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "%s: local cluster ready in %s\n", opts.Name, time.Since(start).Round(time.Millisecond))
	return c, nil
}

// stopCluster stops a cluster.
func stopCluster(c *Cluster) {
	if err := c.Local.Stop(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "%s: stopping the cluster: %v\n", c.Local.Name(), err)
	}
}

// RunOperatorT starts the operator against the cluster for the rest of the test, and shows its log if the test
// fails.
func (c *Cluster) RunOperatorT(t *testing.T, flags ...string) *Operator {
	t.Helper()
	op, err := c.StartOperator(t.TempDir(), "operator", flags...)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	t.Cleanup(op.Stop)
	t.Cleanup(func() { op.DumpLogOnFailure(t) })
	return op
}

// EnsureNamespace creates a namespace unless it exists.
func (c *Cluster) EnsureNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// CreateIstio creates istio (and its namespace) and waits until the Istio is Ready.
func (c *Cluster) CreateIstio(t *testing.T, istio *sailv1.Istio) {
	t.Helper()
	c.EnsureNamespace(t, istio.Spec.Namespace, nil)
	NewWithT(t).Expect(c.Client.Create(context.Background(), istio)).To(Succeed())
	c.WaitCondition(t, &sailv1.Istio{}, istio.Name, sailv1.ConditionReady, "True")
}

// WaitCondition waits until the named cluster-scoped Sail object (obj gives its kind) has condition cond with
// the given status, and fails with the condition's last message otherwise.
func (c *Cluster) WaitCondition(t *testing.T, obj client.Object, name, cond, status string) {
	t.Helper()
	NewWithT(t).Eventually(func() string { return c.ConditionOf(obj, name, cond) }, MultiClusterWait,
		250*time.Millisecond).Should(HavePrefix(status+":"), "%T %s condition %s", obj, name, cond)
}

// ConditionOf returns "<status>: <reason>: <message>" of a condition of the named cluster-scoped Sail object, or
// why there is none.
func (c *Cluster) ConditionOf(obj client.Object, name, cond string) string {
	if err := c.Client.Get(context.Background(), client.ObjectKey{Name: name}, obj); err != nil {
		return err.Error()
	}
	conds, ok := conditionsOf(obj)
	if !ok {
		return fmt.Sprintf("%T has no conditions", obj)
	}
	found := meta.FindStatusCondition(conds, cond)
	if found == nil {
		return "no " + cond + " condition"
	}
	return string(found.Status) + ": " + found.Reason + ": " + found.Message
}

// conditionsOf returns the status conditions of the Sail kinds.
func conditionsOf(obj client.Object) ([]metav1.Condition, bool) {
	switch o := obj.(type) {
	case *sailv1.Istio:
		return o.Status.Conditions, true
	case *sailv1.IstioRevision:
		return o.Status.Conditions, true
	case *sailv1.IstioCNI:
		return o.Status.Conditions, true
	case *sailv1.ZTunnel:
		return o.Status.Conditions, true
	case *sailv1.IstioRevisionTag:
		return o.Status.Conditions, true
	}
	return nil, false
}

// CreateService creates a Service with one HTTP port selecting app=name and returns its ClusterIP.
func (c *Cluster) CreateService(t *testing.T, namespace, name string) string {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: corev1.ServiceSpec{
		Ports: []corev1.ServicePort{{Name: "http", Port: 80}}, Selector: map[string]string{"app": name}}}
	NewWithT(t).Expect(c.Client.Create(context.Background(), svc)).To(Succeed())
	return svc.Spec.ClusterIP
}

// CreateRemoteSecret runs sailctl create-remote-secret against the cluster with args and returns its exit code,
// the Secret it printed (nil if none) and its stderr.
func (c *Cluster) CreateRemoteSecret(t *testing.T, args ...string) (int, *corev1.Secret, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"create-remote-secret", "--kubeconfig", c.Local.KubeconfigPath()}, args...)
	code := sailctl.Execute(args, nil, &stdout, &stderr)
	if stdout.Len() == 0 {
		return code, nil, stderr.String()
	}
	t.Logf("sailctl %s:\n%s%s", strings.Join(args, " "), stderr.String(), stdout.String())
	secret := &corev1.Secret{}
	NewWithT(t).Expect(yaml.UnmarshalStrict(stdout.Bytes(), secret)).To(Succeed(), stdout.String())
	return code, secret, stderr.String()
}

// ApplySecret creates s, or replaces the data of the Secret of that name.
func (c *Cluster) ApplySecret(t *testing.T, s *corev1.Secret) {
	t.Helper()
	existing := &corev1.Secret{}
	if err := c.Client.Get(context.Background(), client.ObjectKeyFromObject(s), existing); err == nil {
		existing.Data = s.Data
		NewWithT(t).Expect(c.Client.Update(context.Background(), existing)).To(Succeed())
		return
	}
	NewWithT(t).Expect(c.Client.Create(context.Background(), s)).To(Succeed())
}

// StartIstiodT starts the real istiod of an installed revision for the rest of the test and waits until it is
// ready; its log is shown if the test fails.
func (c *Cluster) StartIstiodT(t *testing.T, opts IstiodOptions) *Istiod {
	t.Helper()
	return c.superviseIstiodT(t, &opts, func(ctx context.Context) (*Istiod, error) { return c.StartIstiod(ctx, opts) })
}

// superviseIstiodT waits until the revision of opts is installed, starts its istiod with start (in a fresh
// directory unless opts.Dir names one), stops it when the test ends, shows its log if the test fails, and waits
// until it is ready.
func (c *Cluster) superviseIstiodT(t *testing.T, opts *IstiodOptions, start func(context.Context) (*Istiod, error)) *Istiod {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	g.Eventually(func() error { return c.IstiodInstalled(ctx, opts.Namespace, opts.Revision) },
		MultiClusterWait).Should(Succeed())
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	in, err := start(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(in.Stop)
	t.Cleanup(func() { in.DumpLogOnFailure(t) })
	readyCtx, cancel := context.WithTimeout(ctx, MultiClusterWait)
	defer cancel()
	g.Expect(in.WaitReady(readyCtx)).To(Succeed())
	return in
}

// DebugText returns the body of one of istiod's debug endpoints, or the error's text (for Eventually).
func (in *Istiod) DebugText(path string) string {
	body, err := in.Debug(path)
	if err != nil {
		return err.Error()
	}
	return body
}

// ClusterStatus returns the sync status istiod's /debug/clusterz reports for a cluster, or why there is none.
func (in *Istiod) ClusterStatus(id string) string {
	body := in.DebugText("/debug/clusterz")
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

// LogLines returns the lines of istiod's log that contain every one of words.
func (in *Istiod) LogLines(words ...string) []string {
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
