package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

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
	after := append(c.processes(), living(before)...)
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
	if err := c.componentsRunning(); err != nil {
		return err
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

// componentsRunning checks that the process of every pid file of the cluster runs.
func (c *Cluster) componentsRunning() error {
	files := c.pidFiles()
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
	return nil
}

func (c *Cluster) pidFiles() []string {
	files, _ := filepath.Glob(filepath.Join(c.dir, "pids", "*.pid"))
	return files
}

// processes returns the PIDs of the cluster's running component processes:
// those in kwokctl's pid files and, on Linux, any process whose executable
// path (argv[0]) is in the cluster's bin/ directory, where kwokctl links the
// component binaries it starts.
func (c *Cluster) processes() []int {
	seen := map[int]bool{}
	var pids []int
	for _, pid := range append(c.pidFileProcesses(), c.binProcesses()...) {
		if pid > 0 && !seen[pid] && processAlive(pid) {
			seen[pid] = true
			pids = append(pids, pid)
		}
	}
	return pids
}

// pidFileProcesses returns the PIDs in the cluster's pid files whose process is still one of the cluster's.
func (c *Cluster) pidFileProcesses() []int {
	var pids []int
	for _, f := range c.pidFiles() {
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
			pids = append(pids, pid)
		}
	}
	return pids
}

// binProcesses returns the PIDs of the processes (found in /proc) that run a binary of the cluster's bin/.
func (c *Cluster) binProcesses() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	binPrefix := filepath.Join(c.dir, "bin") + string(filepath.Separator)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if argv0, ok := processArgv0(pid); ok && strings.HasPrefix(argv0, binPrefix) {
			pids = append(pids, pid)
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

// living returns the pids that are live processes.
func living(pids []int) []int {
	var alive []int
	for _, p := range pids {
		if processAlive(p) {
			alive = append(alive, p)
		}
	}
	return alive
}

// killAll sends SIGTERM to pids, waits up to 10s for them to exit, then sends
// SIGKILL to the rest.
func killAll(ctx context.Context, pids []int) error { return killWithin(ctx, pids, 10*time.Second) }

// killWithin sends SIGTERM to pids, waits up to grace for them to exit, then sends SIGKILL to the rest.
func killWithin(ctx context.Context, pids []int, grace time.Duration) error {
	if len(pids) == 0 {
		return nil
	}
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	alive := waitExit(ctx, pids, time.Now().Add(grace))
	if len(alive) == 0 {
		return nil
	}
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

// waitExit waits until pids have exited, the deadline has passed or ctx has ended, and returns those still alive.
func waitExit(ctx context.Context, pids []int, deadline time.Time) []int {
	for {
		alive := living(pids)
		if len(alive) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return alive
		}
		time.Sleep(100 * time.Millisecond)
	}
}
