// Package operator wires Sail's controllers into a controller-runtime manager: flags, scheme, caches, metrics,
// health probes and leader election. cmd/sail-operator only calls it.
package operator

import (
	"flag"
	"fmt"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Options are the operator's command-line settings.
type Options struct {
	// MetricsAddr is where the authenticated metrics endpoint listens ("0" disables it).
	MetricsAddr string
	// MetricsSecure serves metrics over HTTPS with authentication and authorization.
	MetricsSecure bool
	// ProbeAddr is where /healthz and /readyz listen ("0" disables them).
	ProbeAddr string
	// PprofAddr is where Go's profiles (/debug/pprof/) are served, unauthenticated ("" or "0" disables them).
	PprofAddr string
	// LeaderElect turns on leader election, for running more than one replica.
	LeaderElect bool
	// LeaderElectionNamespace is where the election lease lives (defaults to the pod's namespace).
	LeaderElectionNamespace string
	// LeaderElectionID names the lease.
	LeaderElectionID string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// ManageIstioCRDs installs and upgrades Istio's own CRDs.
	ManageIstioCRDs bool
	// Platform is auto, kubernetes or openshift.
	Platform string
	// MaxConcurrentReconciles bounds parallel reconciles per controller.
	MaxConcurrentReconciles int
	// KubeAPIQPS and KubeAPIBurst limit the operator's requests to the API server.
	KubeAPIQPS   float64
	KubeAPIBurst int
	// MemoryLimit is the Go soft memory limit when neither GOMEMLIMIT nor a container memory limit sets one, as a
	// quantity ("0": none); see internal/memlimit.
	MemoryLimit string
	// RemoteUsageRecheck is how often an inactive revision kept for remote clusters is looked at again.
	RemoteUsageRecheck time.Duration
	// ShowVersion prints the version and exits.
	ShowVersion bool
	// Zap configures logging.
	Zap zap.Options
	// SkipControllerNameValidation allows several operators in one process (tests); not a flag.
	SkipControllerNameValidation bool
	// Versions replaces the embedded list of Istio versions (tests that need a version this build lacks); nil
	// uses versions.Default(). Not a flag.
	Versions *versions.List
}

// versionList returns the Istio versions the operator supports.
func (o *Options) versionList() *versions.List {
	if o.Versions != nil {
		return o.Versions
	}
	return versions.Default()
}

// DefaultMemoryLimit is the default of --memory-limit: none, since a fixed limit near the live heap of a large
// cluster would make the garbage collector run all the time (docs/performance.md#memory-limit).
const DefaultMemoryLimit = "0"

// MemoryLimitBytes returns MemoryLimit in bytes (0: none); Validate has checked it.
func (o *Options) MemoryLimitBytes() int64 {
	q, err := resource.ParseQuantity(o.MemoryLimit)
	if err != nil {
		return 0
	}
	return q.Value()
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		MetricsAddr: ":8443", MetricsSecure: true, ProbeAddr: ":8081",
		LeaderElectionID: "sail-operator.sailoperator.io",
		LeaseDuration:    15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		ManageIstioCRDs: true, Platform: "auto", MaxConcurrentReconciles: 4, KubeAPIQPS: 50, KubeAPIBurst: 100,
		MemoryLimit: DefaultMemoryLimit, RemoteUsageRecheck: time.Minute,
		Zap: zap.Options{Development: false, TimeEncoder: zapcore.RFC3339NanoTimeEncoder},
	}
}

// BindFlags registers the options on fs.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", o.MetricsAddr, `Address of the metrics endpoint ("0" disables it).`)
	fs.BoolVar(&o.MetricsSecure, "metrics-secure", o.MetricsSecure, "Serve metrics over HTTPS, only to clients allowed to get /metrics (authenticated with TokenReview, authorized with SubjectAccessReview).")
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", o.ProbeAddr, `Address of /healthz and /readyz ("0" disables them).`)
	fs.StringVar(&o.PprofAddr, "pprof-bind-address", o.PprofAddr, `Address of Go's profiles at /debug/pprof/, unauthenticated: for debugging on loopback only ("" or "0" disables them).`)
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect a leader, so that several replicas can run and only one acts.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "Namespace of the leader election lease (defaults to the pod's namespace).")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", o.LeaderElectionID, "Name of the leader election lease.")
	fs.DurationVar(&o.LeaseDuration, "leader-election-lease-duration", o.LeaseDuration, "How long a leader's lease lasts without renewal.")
	fs.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", o.RenewDeadline, "How long the leader retries renewing before giving up leadership.")
	fs.DurationVar(&o.RetryPeriod, "leader-election-retry-period", o.RetryPeriod, "How often candidates try to acquire or renew the lease.")
	fs.BoolVar(&o.ManageIstioCRDs, "manage-istio-crds", o.ManageIstioCRDs, "Install and upgrade Istio's CRDs from the newest Istio version in use (turn off when CRDs are managed elsewhere).")
	fs.StringVar(&o.Platform, "platform", o.Platform, "Platform defaults to apply: auto (detect), kubernetes or openshift.")
	fs.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", o.MaxConcurrentReconciles, "Parallel reconciles per controller.")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "Sustained requests per second to the API server.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Requests allowed in a burst to the API server (an install sends about 50).")
	fs.StringVar(&o.MemoryLimit, "memory-limit", o.MemoryLimit, "Go soft memory limit (a quantity, e.g. 96Mi; 0 for none) "+
		"used when neither GOMEMLIMIT nor a container memory limit sets one; in a container with a memory limit, "+
		"the limit is 90% of it.")
	fs.DurationVar(&o.RemoteUsageRecheck, "remote-usage-recheck", o.RemoteUsageRecheck, "How often an inactive revision that is kept because a remote cluster uses it (or cannot be read) is checked again.")
	fs.BoolVar(&o.ShowVersion, "version", false, "Print the version, commit and supported Istio versions, then exit.")
	o.Zap.BindFlags(fs)
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch values.Platform(o.Platform) {
	case "auto", values.PlatformKubernetes, values.PlatformOpenShift:
	default:
		return fmt.Errorf("--platform=%q: use auto, kubernetes or openshift", o.Platform)
	}
	if o.MaxConcurrentReconciles < 1 {
		return fmt.Errorf("--max-concurrent-reconciles must be at least 1")
	}
	if q, err := resource.ParseQuantity(o.MemoryLimit); err != nil || q.Sign() < 0 {
		return fmt.Errorf("--memory-limit=%q: use a quantity such as 96Mi, or 0 for none", o.MemoryLimit)
	}
	if o.RemoteUsageRecheck < time.Second {
		return fmt.Errorf("--remote-usage-recheck must be at least 1s")
	}
	if o.RenewDeadline >= o.LeaseDuration {
		return fmt.Errorf("--leader-election-renew-deadline must be shorter than --leader-election-lease-duration")
	}
	return nil
}
