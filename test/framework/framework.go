// Package framework runs Sail end to end for black-box tests and benchmarks: a local kwok cluster (real
// kube-apiserver, controller-manager and scheduler; kwok makes pods Running and Ready), Sail's CRDs installed,
// and the operator built from this repository running as a separate process.
package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/devtools/image"
	"github.com/sail-mesh/sail/internal/devtools/localcluster"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/manifest"
)

// Cluster is a running local cluster with Sail's CRDs.
type Cluster struct {
	// Local is the kwok cluster.
	Local *localcluster.Cluster
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client is an uncached client with Sail's scheme.
	Client client.Client
}

// StartCluster starts (or reuses) the kwok cluster called name with nodes fake nodes, installs Sail's CRDs, and
// returns it. auditPolicy, when not empty, turns on the API server's audit log. It refuses to start outside a
// private network namespace (RequirePrivateNetwork).
func StartCluster(ctx context.Context, name string, nodes int, auditPolicy string) (*Cluster, error) {
	return StartClusterWith(ctx, ClusterOptions{Name: name, Nodes: nodes, AuditPolicy: auditPolicy})
}

// ApplyFiles applies every YAML document in dir with server-side apply.
func (c *Cluster) ApplyFiles(ctx context.Context, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		objs, err := manifest.Parse(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, u := range objs {
			if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("sail-e2e"), client.ForceOwnership); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
	}
	// Wait until the API server serves the new kinds.
	deadline := time.Now().Add(30 * time.Second)
	for {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("sailoperator.io/v1")
		list.SetKind("IstioList")
		err := c.Client.List(ctx, list)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// OperatorBinary builds the operator once per test process, the way the image's builder stage does (static, paths
// trimmed, symbol tables stripped), and returns its path: tests and benchmarks run the binary that ships.
func OperatorBinary() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sail-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "sail-operator")
		buildErr = image.BuildBinary(context.Background(), image.BinaryOptions{Root: testenv.RepoRoot(), Out: buildPath,
			Version: "dev", Commit: "unknown", Arch: runtime.GOARCH})
	})
	return buildPath, buildErr
}

// Operator is an operator process.
type Operator struct {
	cmd     *exec.Cmd
	LogPath string
	done    chan struct{}
}

// StartOperator runs the operator against the cluster with extra flags; its log goes to logDir/name.log.
func (c *Cluster) StartOperator(logDir, name string, flags ...string) (*Operator, error) {
	bin, err := OperatorBinary()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"--kubeconfig", c.Local.KubeconfigPath(), "--metrics-bind-address=0",
		"--health-probe-bind-address=0", "--platform=kubernetes"}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	op := &Operator{cmd: cmd, LogPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(op.done)
	}()
	return op, nil
}

// Stop ends the operator (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (o *Operator) Stop() { stopProcess(o.cmd.Process, o.done) }

// stopProcess ends a process (SIGTERM, then SIGKILL after 10 s) and waits until done is closed.
func stopProcess(p *os.Process, done <-chan struct{}) {
	_ = p.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.Kill()
		<-done
	}
}

// Kill ends the operator with SIGKILL and waits for it.
func (o *Operator) Kill() {
	_ = o.cmd.Process.Kill()
	<-o.done
}

// Running reports whether the operator process still runs (it has not exited, crashed or been killed).
func (o *Operator) Running() bool {
	select {
	case <-o.done:
		return false
	default:
		return true
	}
}

// PID returns the operator's process id.
func (o *Operator) PID() int { return o.cmd.Process.Pid }

// DumpLogOnFailure prints the tail of the operator's log when the test failed.
func (o *Operator) DumpLogOnFailure(t testing.TB) {
	t.Helper()
	logTailOnFailure(t, "operator log", o.LogPath)
}

// logTailOnFailure prints the last 20,000 bytes of the log at path when the test failed.
func logTailOnFailure(t testing.TB, label, path string) {
	t.Helper()
	if !t.Failed() {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if len(data) > 20000 {
		data = data[len(data)-20000:]
	}
	t.Logf("%s (tail):\n%s", label, data)
}

// DeleteCluster deletes the local cluster called name, if it exists, so the next StartCluster creates it anew.
func DeleteCluster(ctx context.Context, name string) error {
	return localcluster.Delete(ctx, localcluster.Options{Name: name,
		BinDir: filepath.Join(testenv.RepoRoot(), "bin"), WorkDir: filepath.Join(testenv.RepoRoot(), ".cluster")})
}

// RunMain starts (or reuses) the kwok cluster called name for a test binary, stores it in *cluster, runs the
// tests and stops the cluster; it returns the exit code for os.Exit. auditPolicy is as for StartCluster.
func RunMain(m *testing.M, name string, nodes int, auditPolicy string, cluster **Cluster) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	start := time.Now()
	c, err := StartCluster(ctx, name, nodes, auditPolicy)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot start the local cluster (run `make tools` first): %v\n", name, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "%s: local cluster ready in %s\n", name, time.Since(start).Round(time.Millisecond))
	*cluster = c
	code := m.Run()
	if err := c.Local.Stop(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "%s: stopping the cluster: %v\n", name, err)
	}
	return code
}
