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
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// DefaultName is the cluster name used when Options.Name is empty.
const DefaultName = "sail"

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
	if err := c.checkBinaries(); err != nil {
		return nil, err
	}
	audit, err := auditPolicyPath(opts.AuditPolicyFile)
	if err != nil {
		return nil, err
	}
	if err := c.stopIfBroken(ctx, audit != ""); err != nil {
		return nil, err
	}
	if err := c.create(ctx, audit, opts.ExtraArgs); err != nil {
		return nil, err
	}
	if err := c.waitUsable(ctx, opts.Nodes); err != nil {
		return nil, err
	}
	return c, nil
}

// checkBinaries fails when one of the binaries is missing from the bin directory.
func (c *Cluster) checkBinaries() error {
	for _, b := range binaries {
		if _, err := os.Stat(c.bin(b)); err != nil {
			return fmt.Errorf("localcluster: %s not found in %s (build it with hack/tools.sh): %w", b, c.binDir, err)
		}
	}
	return nil
}

// auditPolicyPath returns the absolute path of the audit policy file, which must exist, or "" for none.
func auditPolicyPath(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	audit, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(audit); err != nil {
		return "", fmt.Errorf("localcluster: audit policy: %w", err)
	}
	return audit, nil
}

// stopIfBroken deletes an existing cluster that is not healthy, so that Start creates it anew, and fails when an
// existing healthy cluster has no audit log though one is wanted.
func (c *Cluster) stopIfBroken(ctx context.Context, wantAudit bool) error {
	if _, err := os.Stat(filepath.Join(c.dir, "kwok.yaml")); err != nil {
		return nil // no cluster yet
	}
	// Reuse a healthy cluster; recreate a broken one (say, its processes died with a reboot) rather than have
	// kwokctl restart it in place, which is slow and does not always recover.
	if err := c.healthy(ctx); err != nil {
		fmt.Fprintf(c.output, "localcluster: cluster %q exists but is not healthy (%v); recreating it\n", c.name, err)
		return c.Stop(ctx)
	}
	if _, err := os.Stat(c.AuditLogPath()); wantAudit && err != nil {
		return fmt.Errorf("localcluster: cluster %q already runs without an audit log; delete it first to enable auditing", c.name)
	}
	return nil
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

// newCluster resolves opts' defaults into a Cluster; it neither starts nor checks anything.
func newCluster(opts Options) (*Cluster, error) {
	name := opts.Name
	if name == "" {
		name = DefaultName
	}
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("localcluster: invalid cluster name %q", name)
	}
	binDir, workDir, err := resolveDirs(opts.BinDir, opts.WorkDir)
	if err != nil {
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

// resolveDirs makes binDir and workDir absolute, defaulting them to bin/ and .cluster/ at the module root.
func resolveDirs(binDir, workDir string) (string, string, error) {
	if binDir == "" || workDir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", "", err
		}
		if binDir == "" {
			binDir = filepath.Join(root, "bin")
		}
		if workDir == "" {
			workDir = filepath.Join(root, ".cluster")
		}
	}
	binDir, err := filepath.Abs(binDir)
	if err != nil {
		return "", "", err
	}
	workDir, err = filepath.Abs(workDir)
	return binDir, workDir, err
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
