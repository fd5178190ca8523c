package lifecycle

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// MaxRetryDelay bounds the backoff between retries of a failing reconcile. controller-runtime's default grows to
// about 17 minutes; a resource whose blocker has gone (an API server back, a policy removed) that no watch sees
// go should recover within a minute, not a quarter of an hour.
const MaxRetryDelay = time.Minute

// Options returns the controller options every Sail controller uses: concurrency reconciles at a time and a retry
// backoff that starts at 5 ms, doubles per failure and stops growing at MaxRetryDelay (with the overall 10 per
// second, burst 100 limit of controller-runtime's default).
func Options(concurrency int) controller.Options {
	limiter := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, MaxRetryDelay),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
	return controller.Options{MaxConcurrentReconciles: concurrency, RateLimiter: limiter}
}
