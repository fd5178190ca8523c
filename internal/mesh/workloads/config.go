package workloads

import (
	"time"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// Defaults of spec.updateStrategy.workloadMigration, also set by the CRD.
const (
	DefaultBatchSize           = 10
	DefaultDelayBetweenBatches = 5 * time.Second
	DefaultBatchTimeout        = 10 * time.Minute
)

// How often a batch in progress is checked, how often a finished migration that skipped workloads looks again,
// and how soon planning follows a relabelling (once the cache has the new labels).
const (
	pollBatch     = 2 * time.Second
	pollSkipped   = 30 * time.Second
	pollRelabeled = time.Second
)

// Config is the resolved spec.updateStrategy.workloadMigration.
type Config struct {
	BatchSize           int
	DelayBetweenBatches time.Duration
	BatchTimeout        time.Duration
}

// ConfigOf resolves an Istio's migration settings with their defaults.
func ConfigOf(us *sailv1.IstioUpdateStrategy) Config {
	cfg := Config{BatchSize: DefaultBatchSize, DelayBetweenBatches: DefaultDelayBetweenBatches, BatchTimeout: DefaultBatchTimeout}
	if us == nil || us.WorkloadMigration == nil {
		return cfg
	}
	wm := us.WorkloadMigration
	if wm.BatchSize != nil && *wm.BatchSize > 0 {
		cfg.BatchSize = int(*wm.BatchSize)
	}
	if wm.DelayBetweenBatchesSeconds != nil && *wm.DelayBetweenBatchesSeconds >= 0 {
		cfg.DelayBetweenBatches = time.Duration(*wm.DelayBetweenBatchesSeconds) * time.Second
	}
	if wm.BatchTimeoutSeconds != nil && *wm.BatchTimeoutSeconds > 0 {
		cfg.BatchTimeout = time.Duration(*wm.BatchTimeoutSeconds) * time.Second
	}
	return cfg
}

// Enabled tells whether an Istio asks for its workloads to be moved.
func Enabled(istio *sailv1.Istio) bool {
	us := istio.Spec.UpdateStrategy
	return us != nil && us.UpdateWorkloads && us.Type == sailv1.UpdateStrategyRevisionBased
}
