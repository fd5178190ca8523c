package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Control-plane component names, as kwokctl names their pid and log files.
const (
	ComponentEtcd      = "etcd"
	ComponentAPIServer = "kube-apiserver"
)

// restartGrace is how long a restarted component may take to shut down before it is killed.
const restartGrace = 3 * time.Second

// component is how a running component process was started, read from /proc, so it can be started again as it was.
type component struct {
	name string
	args []string
	env  []string
	dir  string
}

// RestartControlPlane stops the API server and etcd (SIGTERM, SIGKILL after 3 s), starts them again with the same
// command lines, data and ports, and waits until the API server is ready. Clients see their connections drop and
// requests fail meanwhile, as in a control-plane upgrade; the controller-manager, scheduler and kwok keep running.
func (c *Cluster) RestartControlPlane(ctx context.Context) error {
	return c.Restart(ctx, ComponentAPIServer, ComponentEtcd)
}

// Restart stops the named components in the order given and starts them again in the reverse order (so
// Restart(ctx, "kube-apiserver", "etcd") brings etcd back before the API server), then waits until the API server
// is ready. It works on Linux only, where /proc tells how a process was started.
func (c *Cluster) Restart(ctx context.Context, names ...string) error {
	var stopped []component
	for _, name := range names {
		comp, err := c.stopComponent(ctx, name)
		if err != nil {
			return err
		}
		stopped = append(stopped, comp)
	}
	for i := len(stopped) - 1; i >= 0; i-- {
		if err := c.startComponent(stopped[i]); err != nil {
			return err
		}
	}
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	if err := waitAPIServer(ctx, cs); err != nil {
		return fmt.Errorf("localcluster: API server of %q not ready after a restart (logs in %s): %w", c.name, filepath.Join(c.dir, "logs"), err)
	}
	return nil
}

func (c *Cluster) pidFile(name string) string { return filepath.Join(c.dir, "pids", name+".pid") }

// stopComponent records how the named component runs, then ends it and waits until it has exited.
func (c *Cluster) stopComponent(ctx context.Context, name string) (component, error) {
	b, err := os.ReadFile(c.pidFile(name))
	if err != nil {
		return component{}, fmt.Errorf("localcluster: no running %s in cluster %q: %w", name, c.name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !processAlive(pid) {
		return component{}, fmt.Errorf("localcluster: %s of cluster %q is not running (pid file %s)", name, c.name, c.pidFile(name))
	}
	comp, err := readComponent(name, pid)
	if err != nil {
		return component{}, err
	}
	if err := killWithin(ctx, []int{pid}, restartGrace); err != nil {
		return component{}, err
	}
	return comp, nil
}

// readComponent reads the command line, environment and working directory of pid from /proc.
func readComponent(name string, pid int) (component, error) {
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	cmdline, err := os.ReadFile(filepath.Join(proc, "cmdline"))
	if err != nil {
		return component{}, fmt.Errorf("localcluster: reading how %s runs (Linux only): %w", name, err)
	}
	environ, err := os.ReadFile(filepath.Join(proc, "environ"))
	if err != nil {
		return component{}, fmt.Errorf("localcluster: reading how %s runs (Linux only): %w", name, err)
	}
	dir, err := os.Readlink(filepath.Join(proc, "cwd"))
	if err != nil {
		return component{}, fmt.Errorf("localcluster: reading how %s runs (Linux only): %w", name, err)
	}
	return component{name: name, args: splitNUL(cmdline), env: splitNUL(environ), dir: dir}, nil
}

func splitNUL(b []byte) []string {
	var out []string
	for _, f := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
		out = append(out, string(f))
	}
	return out
}

// startComponent starts comp again in its own session, appending to its log file, and records its new pid where
// kwokctl keeps it, so that Stop finds it.
func (c *Cluster) startComponent(comp component) error {
	logFile, err := os.OpenFile(filepath.Join(c.dir, "logs", comp.name+".log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("localcluster: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(comp.args[0], comp.args[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = comp.env, comp.dir, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("localcluster: starting %s again: %w", comp.name, err)
	}
	go func() { _ = cmd.Wait() }() // reap it, should it exit while this process runs
	if err := os.WriteFile(c.pidFile(comp.name), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return fmt.Errorf("localcluster: %w", err)
	}
	time.Sleep(100 * time.Millisecond) // a component that cannot start usually exits at once
	if !processAlive(cmd.Process.Pid) {
		return fmt.Errorf("localcluster: %s exited right after starting again; see %s", comp.name, filepath.Join(c.dir, "logs", comp.name+".log"))
	}
	return nil
}
