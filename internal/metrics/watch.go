package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/log"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// watchLookupFailures counts the lookups of watch map functions that failed, which drop the event they map.
var watchLookupFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "sail_watch_lookup_failures_total",
	Help: "Lookups (cache reads) of a controller's watch that failed, so that the event they map reconciled " +
		"nothing, by controller and watched kind. Any increase means a change may have gone unnoticed until the " +
		"next event or resync.",
}, []string{"controller", "kind"})

func init() {
	crmetrics.Registry.MustRegister(watchLookupFailures)
}

// WatchLookupFailed reports that a watch map function of controller, mapping an event on an object of kind,
// could not read what it maps the event to: it logs the error and counts it in sail_watch_lookup_failures_total.
func WatchLookupFailed(ctx context.Context, controller, kind string, err error) {
	watchLookupFailures.WithLabelValues(controller, kind).Inc()
	log.FromContext(ctx).Error(err, "a watch lookup failed; the event is dropped", "controller", controller, "kind", kind)
}
