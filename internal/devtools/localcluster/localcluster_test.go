package localcluster

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources:
  - group: apps
    resources: ["deployments"]
- level: None
`

// TestStartDeploymentStop starts a cluster, checks that a Deployment becomes
// Available on the fake nodes, and that stopping the cluster leaves no
// process behind.
func TestStartDeploymentStop(t *testing.T) {
	binDir := binDirOrSkip(t)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	workDir := t.TempDir()
	policy := filepath.Join(workDir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Name:            "localcluster-test",
		BinDir:          binDir,
		WorkDir:         workDir,
		Nodes:           2,
		AuditPolicyFile: policy,
		Output:          t.Output(),
	}

	start := time.Now()
	c, err := Start(ctx, opts)
	if err != nil {
		_ = Delete(context.Background(), opts)
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start created the cluster in %v", time.Since(start).Round(time.Millisecond))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			if err := c.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
		}
	})

	// Starting again reuses the running cluster.
	start = time.Now()
	c2, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("second Start: %v", err)
	}
	t.Logf("Start reused the running cluster in %v", time.Since(start).Round(time.Millisecond))
	if c2.KubeconfigPath() != c.KubeconfigPath() {
		t.Errorf("second Start: kubeconfig %s, want %s", c2.KubeconfigPath(), c.KubeconfigPath())
	}

	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: NodeTypeLabel + "=kwok"})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != opts.Nodes {
		t.Errorf("got %d fake nodes, want %d", len(nodes.Items), opts.Nodes)
	}

	start = time.Now()
	deploy := testDeployment("web", 2)
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.ReadyReplicas == 2 && d.Status.AvailableReplicas == 2 && deploymentAvailable(d), nil
	})
	if err != nil {
		t.Fatalf("Deployment did not become Available: %v", err)
	}
	t.Logf("Deployment with 2 replicas Available after %v", time.Since(start).Round(time.Millisecond))

	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || !strings.HasPrefix(p.Spec.NodeName, NodeNamePrefix) {
			t.Errorf("pod %s: phase %s on node %q, want Running on a fake node", p.Name, p.Status.Phase, p.Spec.NodeName)
		}
	}

	policyFG := metav1.DeletePropagationForeground
	if err := cs.AppsV1().Deployments("default").Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &policyFG}); err != nil {
		t.Fatal(err)
	}
	err = poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, err
		}
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return err == nil && len(pods.Items) == 0, err
	})
	if err != nil {
		t.Fatalf("Deployment and its pods were not deleted: %v", err)
	}

	audit, err := os.ReadFile(c.AuditLogPath())
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	if !strings.Contains(string(audit), `"resource":"deployments"`) {
		t.Errorf("audit log %s has no deployments event", c.AuditLogPath())
	}

	pids := c.processes()
	if len(pids) < 5 {
		t.Errorf("found %d cluster processes %v, want at least 5", len(pids), pids)
	}
	start = time.Now()
	stopped = true
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(start).Round(time.Millisecond))
	for _, p := range pids {
		if processAlive(p) {
			t.Errorf("process %d still runs after Stop", p)
		}
	}
	if left := c.processes(); len(left) != 0 {
		t.Errorf("processes %v still run after Stop", left)
	}
	if _, err := os.Stat(c.Dir()); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s still exists after Stop (err %v)", c.Dir(), err)
	}
	// Stopping twice is fine.
	if err := c.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestConcurrentClusters starts two clusters of the same name from different
// work directories at once: they must get distinct ports and stay apart.
func TestConcurrentClusters(t *testing.T) {
	binDir := binDirOrSkip(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	clusters := make([]*Cluster, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clusters {
		opts := Options{Name: "parallel", BinDir: binDir, WorkDir: t.TempDir(), Nodes: 1, Output: io.Discard}
		wg.Go(func() {
			clusters[i], errs[i] = Start(ctx, opts)
			if errs[i] != nil {
				_ = Delete(context.Background(), opts)
			}
		})
	}
	wg.Wait()
	t.Logf("started 2 clusters concurrently in %v", time.Since(start).Round(time.Millisecond))
	for i, c := range clusters {
		if errs[i] != nil {
			t.Errorf("Start %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() {
			if err := c.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if left := c.processes(); len(left) != 0 {
				t.Errorf("processes %v still run after Stop", left)
			}
		})
	}
	if t.Failed() {
		return
	}

	var hosts []string
	var clients []*kubernetes.Clientset
	for _, c := range clusters {
		cfg, err := c.RESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, cfg.Host)
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, cs)
	}
	if hosts[0] == hosts[1] {
		t.Fatalf("both clusters serve at %s", hosts[0])
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-first"}}
	if _, err := clients[0].CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := clients[1].CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace created in the first cluster: second cluster's Get returned %v, want NotFound", err)
	}
}

func binDirOrSkip(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(root, "bin")
	if _, err := os.Stat(filepath.Join(binDir, "kwokctl")); err != nil {
		t.Skipf("skipping: %s/kwokctl is missing; build the cluster binaries with hack/tools.sh", binDir)
	}
	return binDir
}

func testDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name:  "web",
						Image: "registry.k8s.io/pause:3.10",
						// A whole node's CPU: the replicas must land on
						// different fake nodes, which checks both are usable.
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{
								corev1.ResourceCPU: *nodeResources.Cpu(),
							},
						},
					}},
				},
			},
		},
	}
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
