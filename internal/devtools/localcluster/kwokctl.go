package localcluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// create writes the kwokctl configuration and has kwokctl create the cluster (or bring an existing one up).
func (c *Cluster) create(ctx context.Context, audit string, extraArgs []string) error {
	if err := os.MkdirAll(c.workDir, 0o755); err != nil {
		return err
	}
	if err := c.writeConfig(); err != nil {
		return err
	}
	return c.kwokctl(ctx, c.createArgs(audit, extraArgs)...)
}

// createArgs are the arguments of `kwokctl create cluster`: the binary runtime with the binaries of bin/, and the
// audit policy and extra component flags if any.
func (c *Cluster) createArgs(audit string, extraArgs []string) []string {
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
	// One instance of each needs no leader election, and with it they exit when the API server is away for longer
	// than the renew deadline (as during RestartControlPlane).
	for _, a := range append([]string{"kube-controller-manager=leader-elect=false", "kube-scheduler=leader-elect=false"}, extraArgs...) {
		args = append(args, "--extra-args", a)
	}
	return args
}

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
	full := append([]string{"--name", c.name, "--config", c.kwokctlConfig()}, args...)
	cmd := exec.CommandContext(ctx, c.bin("kwokctl"), full...)
	cmd.Env = c.kwokctlEnv()
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

// kwokctlConfig is the configuration file kwokctl reads: the one Start wrote, or none.
func (c *Cluster) kwokctlConfig() string {
	if _, err := os.Stat(c.configPath); err == nil {
		return c.configPath
	}
	// Without --config, kwokctl would read WorkDir/kwok.yaml if present.
	return os.DevNull
}

// kwokctlEnv is the caller's environment without KWOK_* variables, with KWOK_WORKDIR set and bin/ first on PATH.
func (c *Cluster) kwokctlEnv() []string {
	// kwokctl runs the first kubectl on PATH (before its configured
	// kubectlBinary): make that ours, whatever else is installed.
	env := []string{"KWOK_WORKDIR=" + c.workDir, "PATH=" + c.binDir + string(os.PathListSeparator) + os.Getenv("PATH")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KWOK_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return env
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
