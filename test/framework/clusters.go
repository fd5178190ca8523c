package framework

import (
	"context"
	"fmt"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/devtools/localcluster"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/operator"
)

// ClusterOptions describe a cluster for StartClusterWith.
type ClusterOptions struct {
	// Name of the kwok cluster.
	Name string
	// Nodes is the number of fake nodes.
	Nodes int
	// AuditPolicy, when not empty, turns on the API server's audit log.
	AuditPolicy string
	// ServiceCIDR, when not empty, is the cluster's Service ClusterIP range (kube-apiserver's and
	// kube-controller-manager's --service-cluster-ip-range), so that several clusters in one network namespace
	// get distinct ClusterIPs, as on a flat network. It must lie in 10.0.0.0/8 (local in the private network
	// namespace) and only applies when the cluster is created.
	ServiceCIDR string
}

// StartClusterWith starts (or reuses) the kwok cluster opts describes, installs Sail's CRDs, and returns it. It
// refuses to start outside a private network namespace (RequirePrivateNetwork).
func StartClusterWith(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	if err := RequirePrivateNetwork(); err != nil {
		return nil, err
	}
	var extra []string
	if opts.ServiceCIDR != "" {
		extra = []string{"kube-apiserver=service-cluster-ip-range=" + opts.ServiceCIDR,
			"kube-controller-manager=service-cluster-ip-range=" + opts.ServiceCIDR}
	}
	lc, err := localcluster.Start(ctx, localcluster.Options{Name: opts.Name, Nodes: opts.Nodes,
		AuditPolicyFile: opts.AuditPolicy, ExtraArgs: extra,
		BinDir: filepath.Join(testenv.RepoRoot(), "bin"), WorkDir: filepath.Join(testenv.RepoRoot(), ".cluster")})
	if err != nil {
		return nil, err
	}
	cfg, err := lc.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	c, err := client.New(cfg, client.Options{Scheme: operator.NewScheme()})
	if err != nil {
		return nil, err
	}
	cl := &Cluster{Local: lc, Config: cfg, Client: c}
	if err := cl.ApplyFiles(ctx, filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")); err != nil {
		return nil, fmt.Errorf("installing Sail's CRDs: %w", err)
	}
	return cl, nil
}
