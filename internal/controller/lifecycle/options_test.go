package lifecycle

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// A resource that keeps failing is retried at least once a minute, however many times it failed; controller-runtime's
// default limiter would wait about 17 minutes after 30 failures.
func TestOptions_RetryDelayIsCapped(t *testing.T) {
	limiter := Options(1).RateLimiter
	req := reconcile.Request{NamespacedName: types.NamespacedName{Name: "x"}}
	if first := limiter.When(req); first > 10*time.Millisecond {
		t.Fatalf("first retry after %v, want about 5ms", first)
	}
	var last time.Duration
	for range 40 {
		last = limiter.When(req)
	}
	if last != MaxRetryDelay {
		t.Fatalf("retry after 40 failures waits %v, want %v", last, MaxRetryDelay)
	}
	limiter.Forget(req)
	if again := limiter.When(req); again > 10*time.Millisecond {
		t.Fatalf("after Forget the retry waits %v, want about 5ms again", again)
	}
}
