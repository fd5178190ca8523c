// Package metrics exposes Sail's own Prometheus metrics next to controller-runtime's (which already count
// reconciles by controller and result as controller_runtime_reconcile_total): render and apply work, revisions
// by state, and workload migration. Values are read from the components' counters when Prometheus scrapes.
package metrics

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/workloads"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/render"
)

var (
	rendersDesc = prometheus.NewDesc("sail_chart_renders_total",
		"Helm chart renders (template executions) the operator performed.", nil, nil)
	renderHitsDesc = prometheus.NewDesc("sail_chart_render_cache_hits_total",
		"Chart renders answered from the render cache.", nil, nil)
	applyDesc = prometheus.NewDesc("sail_apply_requests_total",
		"Requests the operator sent to apply or delete objects it manages, by kind of request (apply, delete), "+
			"and objects found unchanged without a request (skipped).", []string{"request"}, nil)
	revisionsDesc = prometheus.NewDesc("sail_istio_revisions",
		"IstioRevisions by state (Healthy, NotReady, ReconcileError, Pending) and whether they are in use.",
		[]string{"state", "in_use"}, nil)
	restartsDesc = prometheus.NewDesc("sail_workload_restarts_total",
		"Deployments, StatefulSets and DaemonSets the operator restarted to move them to a new revision "+
			"(spec.updateStrategy.updateWorkloads).", nil, nil)
	migrationDesc = prometheus.NewDesc("sail_workload_migration_workloads",
		"Workloads of each Istio's current migration to its active revision, by state (migrated, remaining, skipped).",
		[]string{"istio", "state"}, nil)
)

// Collector reports Sail's metrics.
type Collector struct {
	renderer *render.Renderer
	applier  *apply.Applier
	reader   client.Reader
	migrator *workloads.Migrator
}

// Register adds Sail's metrics to controller-runtime's registry, served on the operator's metrics endpoint. In a
// process that runs several operators (tests) the first one registered is reported.
func Register(renderer *render.Renderer, applier *apply.Applier, reader client.Reader, migrator *workloads.Migrator) error {
	err := crmetrics.Registry.Register(&Collector{renderer: renderer, applier: applier, reader: reader, migrator: migrator})
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
		return nil
	}
	return err
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rendersDesc
	ch <- renderHitsDesc
	ch <- applyDesc
	ch <- revisionsDesc
	ch <- restartsDesc
	ch <- migrationDesc
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	rs := c.renderer.Stats()
	ch <- prometheus.MustNewConstMetric(rendersDesc, prometheus.CounterValue, float64(rs.Renders))
	ch <- prometheus.MustNewConstMetric(renderHitsDesc, prometheus.CounterValue, float64(rs.CacheHits))
	as := c.applier.Stats()
	ch <- prometheus.MustNewConstMetric(applyDesc, prometheus.CounterValue, float64(as.Applies), "apply")
	ch <- prometheus.MustNewConstMetric(applyDesc, prometheus.CounterValue, float64(as.Deletes), "delete")
	ch <- prometheus.MustNewConstMetric(applyDesc, prometheus.CounterValue, float64(as.Skipped), "skipped")
	for key, n := range c.revisionStates() {
		ch <- prometheus.MustNewConstMetric(revisionsDesc, prometheus.GaugeValue, float64(n), key[0], key[1])
	}
	if c.migrator != nil {
		ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, float64(c.migrator.Restarts()))
	}
	istios := &sailv1.IstioList{}
	if err := c.reader.List(context.Background(), istios); err == nil {
		for _, istio := range istios.Items {
			wm := istio.Status.WorkloadMigration
			if wm == nil {
				continue
			}
			ch <- prometheus.MustNewConstMetric(migrationDesc, prometheus.GaugeValue, float64(wm.Migrated), istio.Name, "migrated")
			ch <- prometheus.MustNewConstMetric(migrationDesc, prometheus.GaugeValue, float64(wm.Remaining), istio.Name, "remaining")
			ch <- prometheus.MustNewConstMetric(migrationDesc, prometheus.GaugeValue, float64(wm.Skipped), istio.Name, "skipped")
		}
	}
}

func (c *Collector) revisionStates() map[[2]string]int {
	out := map[[2]string]int{}
	list := &sailv1.IstioRevisionList{}
	if err := c.reader.List(context.Background(), list); err != nil {
		return out
	}
	for _, rev := range list.Items {
		state := string(rev.Status.State)
		if state == "" {
			state = string(sailv1.StatePending)
		}
		inUse := "unknown"
		for _, cond := range rev.Status.Conditions {
			if cond.Type == sailv1.ConditionInUse {
				inUse = map[string]string{"True": "true", "False": "false"}[string(cond.Status)]
				if inUse == "" {
					inUse = "unknown"
				}
			}
		}
		out[[2]string{state, inUse}]++
	}
	return out
}
