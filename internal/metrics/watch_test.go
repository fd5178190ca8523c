package metrics

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWatchLookupFailed(t *testing.T) {
	g := NewWithT(t)
	before := testutil.ToFloat64(watchLookupFailures.WithLabelValues("test", "Widget"))
	WatchLookupFailed(context.Background(), "test", "Widget", errors.New("cache not synced"))
	g.Expect(testutil.ToFloat64(watchLookupFailures.WithLabelValues("test", "Widget"))).To(Equal(before + 1))
}
