package metricsauth

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// ttlCache keeps answers until they expire, at most maxEntries of them (a full cache first drops what expired,
// then everything: answers are cheap to ask for again).
type ttlCache[V any] struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]ttlEntry[V]
}

// ttlEntry is a cached answer and when it expires.
type ttlEntry[V any] struct {
	value   V
	expires time.Time
}

// newTTLCache returns an empty cache on the wall clock.
func newTTLCache[V any]() *ttlCache[V] {
	return &ttlCache[V]{now: time.Now, entries: map[string]ttlEntry[V]{}}
}

// get returns the answer for key when it has not expired.
func (c *ttlCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// put keeps value for key for ttl.
func (c *ttlCache[V]) put(key string, value V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= maxEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxEntries {
			clear(c.entries)
		}
	}
	c.entries[key] = ttlEntry[V]{value: value, expires: now.Add(ttl)}
}

// hashKey is a cache key of parts that does not keep a token in memory as it is.
func hashKey(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}
