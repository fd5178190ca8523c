// Package localcluster starts and stops a local, simulated Kubernetes cluster
// for tests and development.
//
// It drives kwokctl (sigs.k8s.io/kwok) with its "binary" runtime: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok-controller
// run as plain local processes, from the binaries hack/tools.sh builds into
// bin/. Nothing is downloaded and no container runtime is needed. The cluster's
// Nodes are fake: kwok-controller keeps them Ready and moves the pods bound to
// them through their lifecycle (Running, Ready, deleted) without running any
// container, so workloads become Available as on a real cluster.
//
// All listeners bind to 127.0.0.1, on ports the kernel picks, so several
// clusters (with different names or work directories) can run side by side.
package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// DefaultName is the cluster name used when Options.Name is empty.
const DefaultName = "sail"

// Labels and annotations put on the fake nodes Start creates.
const (
	// NodeAnnotation marks a Node as managed by kwok-controller.
	NodeAnnotation = "kwok.x-k8s.io/node"
	// NodeTypeLabel is set to "kwok" on every fake Node.
	NodeTypeLabel = "type"
	// NodeNamePrefix prefixes the names of the fake Nodes (kwok-node-0, ...).
	NodeNamePrefix = "kwok-node-"
)

// Allocatable resources of each fake Node: enough for hundreds of pods with
// typical requests across a few nodes.
var nodeResources = corev1.ResourceList{
	corev1.ResourceCPU:              resource.MustParse("32"),
	corev1.ResourceMemory:           resource.MustParse("256Gi"),
	corev1.ResourcePods:             resource.MustParse("250"),
	corev1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
}

// binaries are the files that must exist in Options.BinDir.
var binaries = []string{"kwokctl", "kwok", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"}

var validName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Options configures Start, Open and Delete.
type Options struct {
	// Name of the cluster; DefaultName if empty. Lower-case letters, digits
	// and '-'.
	Name string
	// BinDir holds kwokctl, kwok, etcd, kube-apiserver,
	// kube-controller-manager, kube-scheduler and kubectl (as built by
	// hack/tools.sh). Default: bin/ at the root of the enclosing Go module
	// (found from the working directory).
	BinDir string
	// WorkDir is kwokctl's work directory (KWOK_WORKDIR): the cluster's
	// state (config, PKI, etcd data, logs, pid files) lives in
	// WorkDir/clusters/<Name>. Default: .cluster/ at the root of the
	// enclosing Go module. ~/.kwok is never used.
	WorkDir string
	// Nodes is the number of fake Nodes Start makes sure exist; zero means 1.
	Nodes int
	// AuditPolicyFile, if set, is an audit policy file (audit.k8s.io/v1
	// Policy) for the API server, which then writes an audit log to
	// AuditLogPath. It only applies when Start creates the cluster.
	AuditPolicyFile string
	// ExtraArgs are passed to kwokctl as --extra-args, each as
	// "component=flag=value", e.g. "kube-apiserver=v=4".
	ExtraArgs []string
	// Output receives kwokctl's own output; os.Stderr if nil.
	Output io.Writer
}

// Cluster is a local kwok cluster created by Start or found by Open.
type Cluster struct {
	name       string
	binDir     string
	workDir    string
	dir        string // workDir/clusters/name
	configPath string // kwokctl config written by Start
	output     io.Writer
}

// Start creates the cluster opts describes, or reuses it if a healthy cluster
// of that name already runs from opts.WorkDir. It returns once the API server is ready, opts.Nodes fake
// Nodes exist and are Ready, and the default ServiceAccount exists, so pods
// can be created right away.
//
// A cluster that exists but is not healthy (a component process died, the API
// server does not answer) is deleted and created anew. If Start fails, the
// cluster may be partly up: call Delete to clean up.
//
// Stop the cluster with Cluster.Stop or Delete; its processes outlive the
// calling process otherwise.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	c, err := newCluster(opts)
	if err != nil {
		return nil, err
	}
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(c.binDir, b)); err != nil {
			return nil, fmt.Errorf("localcluster: %s not found in %s (build it with hack/tools.sh): %w", b, c.binDir, err)
		}
	}
	audit := ""
	if opts.AuditPolicyFile != "" {
		if audit, err = filepath.Abs(opts.AuditPolicyFile); err != nil {
			return nil, err
		}
		if _, err := os.Stat(audit); err != nil {
			return nil, fmt.Errorf("localcluster: audit policy: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(c.dir, "kwok.yaml")); err == nil {
		// Reuse a healthy cluster; recreate a broken one (say, its
		// processes died with a reboot) rather than have kwokctl restart
		// it in place, which is slow and does not always recover.
		if err := c.healthy(ctx); err != nil {
			fmt.Fprintf(c.output, "localcluster: cluster %q exists but is not healthy (%v); recreating it\n", c.name, err)
			if err := c.Stop(ctx); err != nil {
				return nil, err
			}
		} else if _, err := os.Stat(c.AuditLogPath()); audit != "" && err != nil {
			return nil, fmt.Errorf("localcluster: cluster %q already runs without an audit log; delete it first to enable auditing", c.name)
		}
	}
	if err := os.MkdirAll(c.workDir, 0o755); err != nil {
		return nil, err
	}
	if err := c.writeConfig(); err != nil {
		return nil, err
	}

	args := []string{
		"create", "cluster",
		"--runtime", "binary",
		"--kube-apiserver-binary", c.bin("kube-apiserver"),
		"--kube-controller-manager-binary", c.bin("kube-controller-manager"),
		"--kube-scheduler-binary", c.bin("kube-scheduler"),
		"--kwok-controller-binary", c.bin("kwok"),
		"--etcd-binary", c.bin("etcd"),
		// Don't touch ~/.kube/config: use KubeconfigPath.
		"--kubeconfig", "",
		"--quiet-pull",
		"--wait", "2m",
	}
	if audit != "" {
		args = append(args, "--kube-audit-policy", audit)
	}
	for _, a := range opts.ExtraArgs {
		args = append(args, "--extra-args", a)
	}
	if err := c.kwokctl(ctx, args...); err != nil {
		return nil, err
	}

	cs, err := c.clientset()
	if err != nil {
		return nil, err
	}
	if err := waitAPIServer(ctx, cs); err != nil {
		return nil, fmt.Errorf("localcluster: API server of %q not ready (logs in %s): %w", c.name, filepath.Join(c.dir, "logs"), err)
	}
	nodes := opts.Nodes
	if nodes <= 0 {
		nodes = 1
	}
	if err := ensureNodes(ctx, cs, nodes); err != nil {
		return nil, fmt.Errorf("localcluster: fake nodes of %q: %w", c.name, err)
	}
	if err := waitDefaultServiceAccount(ctx, cs); err != nil {
		return nil, fmt.Errorf("localcluster: default ServiceAccount of %q: %w", c.name, err)
	}
	return c, nil
}

// Open returns the existing cluster opts describes, without starting or
// checking it. It fails if kwokctl has no cluster of that name in
// opts.WorkDir.
func Open(opts Options) (*Cluster, error) {
	c, err := newCluster(opts)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(c.KubeconfigPath()); err != nil {
		return nil, fmt.Errorf("localcluster: no cluster %q in %s: %w", c.name, c.workDir, err)
	}
	return c, nil
}

// Delete deletes the cluster opts describes, as Cluster.Stop does. Deleting a
// cluster that does not exist is not an error.
func Delete(ctx context.Context, opts Options) error {
	c, err := newCluster(opts)
	if err != nil {
		return err
	}
	return c.Stop(ctx)
}

// Name returns the cluster's name.
func (c *Cluster) Name() string { return c.name }

// Dir returns the directory holding the cluster's state; component logs are
// in its logs/ subdirectory.
func (c *Cluster) Dir() string { return c.dir }

// KubeconfigPath returns the path of a kubeconfig file with admin
// credentials for the cluster.
func (c *Cluster) KubeconfigPath() string { return filepath.Join(c.dir, "kubeconfig.yaml") }

// AuditLogPath returns where the API server writes its audit log (JSON lines)
// when the cluster was started with Options.AuditPolicyFile. The file does not
// exist otherwise.
func (c *Cluster) AuditLogPath() string { return filepath.Join(c.dir, "logs", "audit.log") }

// RESTConfig returns a client configuration with admin credentials for the
// cluster. Client-side rate limits are raised (QPS 100, burst 200) since the
// cluster is local and dedicated to the caller.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigPath())
	if err != nil {
		return nil, fmt.Errorf("localcluster: %w", err)
	}
	cfg.QPS = 100
	cfg.Burst = 200
	return cfg, nil
}

// Stop deletes the cluster with kwokctl: it stops the cluster's processes and
// removes its state directory. Processes that survive kwokctl (or that
// kwokctl lost track of) are killed, so none is left behind. Stopping a
// cluster that does not exist is not an error.
func (c *Cluster) Stop(ctx context.Context) error {
	before := c.processes()
	var errs []error
	if _, err := os.Stat(c.dir); err == nil {
		// kwokctl delete removes the cluster's context from the kubeconfig
		// given (and insists on one): give it the cluster's own, which is
		// deleted next anyway, so ~/.kube/config is left alone.
		if err := c.kwokctl(ctx, "delete", "cluster", "--kubeconfig", c.KubeconfigPath()); err != nil {
			errs = append(errs, err)
		}
	}
	after := c.processes()
	for _, p := range before {
		if processAlive(p) {
			after = append(after, p)
		}
	}
	if err := killAll(ctx, after); err != nil {
		errs = append(errs, err)
	}
	if err := os.Remove(c.configPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// healthy checks that every component process kwokctl started for the
// cluster still runs and that the API server reports ready.
func (c *Cluster) healthy(ctx context.Context) error {
	files, _ := filepath.Glob(filepath.Join(c.dir, "pids", "*.pid"))
	if len(files) == 0 {
		return errors.New("no component runs")
	}
	running := map[int]bool{}
	for _, p := range c.processes() {
		running[p] = true
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || !running[pid] {
			return fmt.Errorf("%s is not running", strings.TrimSuffix(filepath.Base(f), ".pid"))
		}
	}
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("API server: %w", err)
	}
	if string(body) != "ok" {
		return fmt.Errorf("API server not ready: %s", body)
	}
	return nil
}

// processes returns the PIDs of the cluster's running component processes:
// those in kwokctl's pid files and, on Linux, any process whose executable
// path (argv[0]) is in the cluster's bin/ directory, where kwokctl links the
// component binaries it starts.
func (c *Cluster) processes() []int {
	seen := map[int]bool{}
	var pids []int
	add := func(pid int) {
		if pid > 0 && !seen[pid] && processAlive(pid) {
			seen[pid] = true
			pids = append(pids, pid)
		}
	}
	files, _ := filepath.Glob(filepath.Join(c.dir, "pids", "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		// Only trust a pid file whose process still is one of ours: the
		// PID may have been reused since.
		if argv0, ok := processArgv0(pid); !ok || strings.HasPrefix(argv0, c.dir+string(filepath.Separator)) {
			add(pid)
		}
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return pids
	}
	binPrefix := filepath.Join(c.dir, "bin") + string(filepath.Separator)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if argv0, ok := processArgv0(pid); ok && strings.HasPrefix(argv0, binPrefix) {
			add(pid)
		}
	}
	return pids
}

// processArgv0 returns argv[0] of pid, if /proc tells it.
func processArgv0(pid int) (string, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return "", false
	}
	argv0, _, _ := bytes.Cut(b, []byte{0})
	return string(argv0), true
}

// processAlive reports whether pid is a live process (not a zombie).
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) || runtime.GOOS != "linux"
	}
	// The state follows the parenthesized command name: "pid (comm) S ...".
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// killAll sends SIGTERM to pids, waits up to 10s for them to exit, then sends
// SIGKILL to the rest.
func killAll(ctx context.Context, pids []int) error {
	if len(pids) == 0 {
		return nil
	}
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var alive []int
		for _, p := range pids {
			if processAlive(p) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			for _, p := range alive {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			time.Sleep(200 * time.Millisecond)
			for _, p := range alive {
				if processAlive(p) {
					return fmt.Errorf("localcluster: process %d survived SIGKILL", p)
				}
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newCluster(opts Options) (*Cluster, error) {
	name := opts.Name
	if name == "" {
		name = DefaultName
	}
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("localcluster: invalid cluster name %q", name)
	}
	binDir, workDir := opts.BinDir, opts.WorkDir
	if binDir == "" || workDir == "" {
		root, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		if binDir == "" {
			binDir = filepath.Join(root, "bin")
		}
		if workDir == "" {
			workDir = filepath.Join(root, ".cluster")
		}
	}
	var err error
	if binDir, err = filepath.Abs(binDir); err != nil {
		return nil, err
	}
	if workDir, err = filepath.Abs(workDir); err != nil {
		return nil, err
	}
	out := opts.Output
	if out == nil {
		out = os.Stderr
	}
	return &Cluster{
		name:       name,
		binDir:     binDir,
		workDir:    workDir,
		dir:        filepath.Join(workDir, "clusters", name),
		configPath: filepath.Join(workDir, name+".kwokctl.yaml"),
		output:     out,
	}, nil
}

// moduleRoot returns the nearest directory at or above the working directory
// that holds a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("localcluster: no go.mod above the working directory; set Options.BinDir and Options.WorkDir")
		}
		dir = parent
	}
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.binDir, name) }

// writeConfig writes the kwokctl configuration for options that have no
// command-line flag: bind every component to loopback only (kwokctl's default
// is 0.0.0.0, which would expose an unauthenticated etcd), use the local
// kubectl (which kwokctl runs for its readiness checks and would otherwise
// download), and listen on ports picked by the kernel. kwokctl's own choice
// counts down from 32767 in every process, so two clusters created at the
// same time from different work directories would get the same ports.
func (c *Cluster) writeConfig() error {
	ports, err := freePorts(6)
	if err != nil {
		return fmt.Errorf("localcluster: %w", err)
	}
	cfg := fmt.Sprintf(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 127.0.0.1
  kubectlBinary: %q
  kubeApiserverPort: %d
  etcdPort: %d
  etcdPeerPort: %d
  kwokControllerPort: %d
  kubeControllerManagerPort: %d
  kubeSchedulerPort: %d
`, c.bin("kubectl"), ports[0], ports[1], ports[2], ports[3], ports[4], ports[5])
	return os.WriteFile(c.configPath, []byte(cfg), 0o644)
}

// freePorts returns n distinct loopback TCP ports that are free right now.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// kwokctl runs bin/kwokctl for this cluster with a controlled environment:
// KWOK_* variables of the caller are dropped so they cannot swap in other
// binaries or download URLs, KWOK_WORKDIR points at c.workDir and c.binDir
// comes first on PATH.
func (c *Cluster) kwokctl(ctx context.Context, args ...string) error {
	full := []string{"--name", c.name}
	if _, err := os.Stat(c.configPath); err == nil {
		full = append(full, "--config", c.configPath)
	} else {
		// Without --config, kwokctl would read WorkDir/kwok.yaml if present.
		full = append(full, "--config", os.DevNull)
	}
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, c.bin("kwokctl"), full...)
	// kwokctl runs the first kubectl on PATH (before its configured
	// kubectlBinary): make that ours, whatever else is installed.
	env := []string{"KWOK_WORKDIR=" + c.workDir, "PATH=" + c.binDir + string(os.PathListSeparator) + os.Getenv("PATH")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KWOK_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.Dir = c.workDir
	if _, err := os.Stat(c.workDir); err != nil {
		cmd.Dir = ""
	}
	tail := &tailBuffer{max: 8 << 10}
	cmd.Stdout = io.MultiWriter(c.output, tail)
	cmd.Stderr = cmd.Stdout
	// The components kwokctl starts are in their own sessions; kwokctl
	// itself is killed with the context.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("localcluster: kwokctl %s: %w\n%s", strings.Join(args[:2], " "), err, tail.String())
	}
	return nil
}

func (c *Cluster) clientset() (*kubernetes.Clientset, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 10 * time.Second
	return kubernetes.NewForConfig(cfg)
}

// poll calls f every interval until it returns true or an error, or ctx ends;
// then it returns the last error f returned, if any, with ctx's.
func poll(ctx context.Context, interval time.Duration, f func(context.Context) (bool, error)) error {
	var last error
	for {
		done, err := f(ctx)
		if done {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

func waitAPIServer(ctx context.Context, cs kubernetes.Interface) error {
	return poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return false, err
		}
		return string(body) == "ok", fmt.Errorf("/readyz: %s", body)
	})
}

// ensureNodes creates the fake Nodes kwok-node-0..n-1 that do not exist yet
// and waits until all of them are Ready.
func ensureNodes(ctx context.Context, cs kubernetes.Interface, n int) error {
	for i := range n {
		node := fakeNode(fmt.Sprintf("%s%d", NodeNamePrefix, i))
		_, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		for i := range n {
			name := fmt.Sprintf("%s%d", NodeNamePrefix, i)
			node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if !nodeReady(node) {
				return false, fmt.Errorf("node %s not Ready yet", name)
			}
		}
		return true, nil
	})
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func fakeNode(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				NodeAnnotation:                 "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
			Labels: map[string]string{
				NodeTypeLabel:                   "kwok",
				"kubernetes.io/hostname":        name,
				"kubernetes.io/os":              "linux",
				"kubernetes.io/arch":            runtime.GOARCH,
				"kubernetes.io/role":            "agent",
				"node-role.kubernetes.io/agent": "",
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    nodeResources.DeepCopy(),
			Allocatable: nodeResources.DeepCopy(),
			NodeInfo: corev1.NodeSystemInfo{
				Architecture:    runtime.GOARCH,
				OperatingSystem: "linux",
				KubeletVersion:  "fake",
			},
			Phase: corev1.NodeRunning,
		},
	}
}

func waitDefaultServiceAccount(ctx context.Context, cs kubernetes.Interface) error {
	return poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
