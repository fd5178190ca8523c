// Package testenv starts a real kube-apiserver and etcd (built into bin/ by `make tools`) with Sail's CRDs
// installed, for controller tests, and can run the operator in-process against it.
package testenv

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/sail-mesh/sail/internal/operator"
)

// RepoRoot returns the repository's root folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Env is a running API server with a client.
type Env struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client is an uncached client with Sail's scheme.
	Client client.Client
}

// Start starts kube-apiserver and etcd with Sail's CRDs and stops them when the test ends. It fails the test
// when bin/kube-apiserver or bin/etcd is missing: run `make tools`.
func Start(t testing.TB) *Env {
	t.Helper()
	bin := filepath.Join(RepoRoot(), "bin")
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s is missing from bin/: run `make tools` first", b)
		}
	}
	w := &testWriter{t: t}
	t.Cleanup(w.close) // registered first, so it runs after everything else has stopped
	useTestLog(w)
	env := &envtest.Environment{
		BinaryAssetsDirectory:    bin,
		CRDDirectoryPaths:        []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Logf("stopping the API server: %v", err)
		}
	})
	c, err := client.New(cfg, client.Options{Scheme: operator.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Config: cfg, Client: c}
}

// StartOperator runs the operator in-process against the environment until the test ends.
func (e *Env) StartOperator(t testing.TB, mutate ...func(*operator.Options)) *operator.Operator {
	t.Helper()
	opts := operator.NewOptions()
	opts.MetricsAddr = "0"
	opts.ProbeAddr = "0"
	opts.Platform = "kubernetes"
	opts.SkipControllerNameValidation = true
	for _, m := range mutate {
		m(opts)
	}
	op, err := operator.New(e.Config, opts)
	if err != nil {
		t.Fatalf("creating the operator: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- op.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Logf("operator stopped with: %v", err)
		}
	})
	return op
}

// logOnce installs the process's logger once: controller-runtime's loggers keep the first sink they are given, so
// later tests of the same binary (e.g. -count=N) reach their own test log through currentLog instead.
var (
	logOnce    sync.Once
	currentLog atomic.Pointer[testWriter]
)

// useTestLog sends the operator's and controller-runtime's logs to w until the next test's environment starts.
func useTestLog(w *testWriter) {
	currentLog.Store(w)
	logOnce.Do(func() { ctrl.SetLogger(zap.New(zap.WriteTo(forwarder{}), zap.UseDevMode(true))) })
}

// forwarder writes to the current test's log.
type forwarder struct{}

func (forwarder) Write(p []byte) (int, error) {
	if w := currentLog.Load(); w != nil {
		return w.Write(p)
	}
	return len(p), nil
}

// testWriter sends log lines to the test log, so they show only for failing or verbose tests.
type testWriter struct {
	t      testing.TB
	mu     sync.Mutex
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}
