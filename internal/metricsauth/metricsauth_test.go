package metricsauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// countingReviewer accepts the tokens in users, allows the users in allowed, and counts the reviews it was asked.
type countingReviewer struct {
	users          map[string]*User
	allowed        map[string]bool
	fail           error
	authns, authzs int
}

func (r *countingReviewer) Authenticate(_ context.Context, token string) (*User, bool, error) {
	r.authns++
	u, ok := r.users[token]
	return u, ok, r.fail
}

func (r *countingReviewer) Authorize(_ context.Context, user *User, verb, path string) (bool, error) {
	r.authzs++
	return r.allowed[user.Name] && verb == "get" && path == "/metrics", r.fail
}

// serve sends one request with header (none when empty) through a filter of g and returns the status code.
func serve(t *testing.T, g *gate, header string) int {
	t.Helper()
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serve(logr.Discard(), next, w, r) })
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func newGate(r Reviewer, now func() time.Time) *gate {
	g := &gate{reviewer: r, authn: newTTLCache[*User](), authz: newTTLCache[bool]()}
	g.authn.now, g.authz.now = now, now
	return g
}

func TestFilter_StatusCodes(t *testing.T) {
	r := &countingReviewer{users: map[string]*User{"good": {Name: "prometheus"}, "other": {Name: "nobody"}},
		allowed: map[string]bool{"prometheus": true}}
	g := newGate(r, time.Now)
	for header, want := range map[string]int{
		"":              http.StatusUnauthorized,
		"Bearer":        http.StatusUnauthorized,
		"Basic abc":     http.StatusUnauthorized,
		"Bearer wrong":  http.StatusUnauthorized,
		"Bearer other":  http.StatusForbidden,
		"Bearer good":   http.StatusOK,
		"bearer  good ": http.StatusOK,
	} {
		if got := serve(t, g, header); got != want {
			t.Errorf("Authorization %q: status %d, want %d", header, got, want)
		}
	}
	r.fail = errors.New("API server unreachable")
	if got := serve(t, newGate(r, time.Now), "Bearer good"); got != http.StatusInternalServerError {
		t.Errorf("reviewer error: status %d, want 500", got)
	}
}

func TestFilter_CachesAnswersUntilTheyExpire(t *testing.T) {
	r := &countingReviewer{users: map[string]*User{"good": {Name: "prometheus"}, "other": {Name: "nobody"}},
		allowed: map[string]bool{"prometheus": true}}
	now := time.Unix(1000, 0)
	g := newGate(r, func() time.Time { return now })
	for range 10 {
		serve(t, g, "Bearer good")
		serve(t, g, "Bearer other")
	}
	if r.authns != 2 || r.authzs != 2 {
		t.Fatalf("20 requests of 2 tokens: %d TokenReviews and %d SubjectAccessReviews, want 2 and 2", r.authns, r.authzs)
	}
	now = now.Add(denyTTL)
	serve(t, g, "Bearer good")
	serve(t, g, "Bearer other")
	if r.authns != 2 || r.authzs != 3 {
		t.Fatalf("after %s: %d TokenReviews and %d SubjectAccessReviews, want 2 and 3 (the denial asked again)", denyTTL, r.authns, r.authzs)
	}
	now = now.Add(authnTTL)
	serve(t, g, "Bearer good")
	if r.authns != 3 || r.authzs != 3 {
		t.Fatalf("after %s: %d TokenReviews and %d SubjectAccessReviews, want 3 and 3", authnTTL, r.authns, r.authzs)
	}
}

func TestTTLCache_StaysBounded(t *testing.T) {
	c := newTTLCache[bool]()
	for i := range 3 * maxEntries {
		c.put(hashKey(string(rune(i))), true, time.Hour)
	}
	if len(c.entries) > maxEntries {
		t.Fatalf("%d entries, want at most %d", len(c.entries), maxEntries)
	}
}
