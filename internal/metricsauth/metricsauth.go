// Package metricsauth serves the metrics endpoint only to callers the API server authenticates (TokenReview) and
// authorizes to get the path (SubjectAccessReview), with the answers cached for a short while.
//
// It does what controller-runtime's metrics filter does with two API calls of client-go's typed clients instead of
// k8s.io/apiserver's delegating authenticator and authorizer, which bring CEL and gRPC into the operator's binary
// (about 8 MB of code that is resident in every operator's memory).
package metricsauth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// How long answers are kept: a token's review for a minute, an allowed request for five, a denied one for half a
// minute (so a new RoleBinding takes effect quickly).
const (
	authnTTL   = time.Minute
	allowTTL   = 5 * time.Minute
	denyTTL    = 30 * time.Second
	maxEntries = 1024
	timeout    = 10 * time.Second
)

// User is who a token belongs to, as the API server's TokenReview says.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// Reviewer asks the API server about a request: who a bearer token is, and whether that user may use a verb on a
// non-resource path.
type Reviewer interface {
	Authenticate(ctx context.Context, token string) (user *User, ok bool, err error)
	Authorize(ctx context.Context, user *User, verb, path string) (allowed bool, err error)
}

// FilterProvider is a metricsserver.Options.FilterProvider that reviews each request with the API server of config.
func FilterProvider(config *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	reviewer, err := NewAPIReviewer(config, httpClient)
	if err != nil {
		return nil, err
	}
	return NewFilter(reviewer), nil
}

// NewFilter returns a metrics filter that serves only requests reviewer authenticates and authorizes, and keeps
// its answers for a while so a scrape every few seconds costs no API call.
func NewFilter(reviewer Reviewer) metricsserver.Filter {
	g := &gate{reviewer: reviewer, authn: newTTLCache[*User](), authz: newTTLCache[bool]()}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serve(log, next, w, r) }), nil
	}
}

// gate holds the reviewer and the cached answers.
type gate struct {
	reviewer Reviewer
	authn    *ttlCache[*User] // nil: the API server does not accept the token
	authz    *ttlCache[bool]
}

// serve answers 401 without a token the API server accepts, 403 when the user may not get the path, 500 when the
// API server could not be asked, and otherwise passes the request on.
func (g *gate) serve(log logr.Logger, next http.Handler, w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	token, found := bearerToken(r)
	if !found {
		http.Error(w, "Unauthorized: send a ServiceAccount token as 'Authorization: Bearer <token>'", http.StatusUnauthorized)
		return
	}
	user, err := g.authenticate(ctx, token)
	if err != nil {
		log.Error(err, "Could not review the metrics request's token with the API server")
		http.Error(w, "Authentication failed: the API server could not review the token", http.StatusInternalServerError)
		return
	}
	if user == nil {
		http.Error(w, "Unauthorized: the API server does not accept this token", http.StatusUnauthorized)
		return
	}
	verb := strings.ToLower(r.Method)
	allowed, err := g.authorize(ctx, user, verb, r.URL.Path)
	if err != nil {
		log.Error(err, "Could not review the metrics request's access with the API server", "user", user.Name)
		http.Error(w, fmt.Sprintf("Authorization of user %s failed: the API server could not be asked", user.Name), http.StatusInternalServerError)
		return
	}
	if !allowed {
		log.V(1).Info("Metrics request denied", "user", user.Name, "verb", verb, "path", r.URL.Path)
		http.Error(w, fmt.Sprintf("Forbidden: user %s may not %s %s (grant the non-resource URL in a ClusterRole)", user.Name, verb, r.URL.Path), http.StatusForbidden)
		return
	}
	next.ServeHTTP(w, r)
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	return token, found && strings.EqualFold(scheme, "bearer") && token != ""
}

// authenticate returns the token's user, nil when the API server does not accept it.
func (g *gate) authenticate(ctx context.Context, token string) (*User, error) {
	key := hashKey(token)
	if user, ok := g.authn.get(key); ok {
		return user, nil
	}
	user, ok, err := g.reviewer.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	if !ok {
		user = nil
	}
	g.authn.put(key, user, authnTTL)
	return user, nil
}

// authorize says whether user may use verb on path.
func (g *gate) authorize(ctx context.Context, user *User, verb, path string) (bool, error) {
	key := hashKey(user.Name, user.UID, strings.Join(user.Groups, ","), verb, path)
	if allowed, ok := g.authz.get(key); ok {
		return allowed, nil
	}
	allowed, err := g.reviewer.Authorize(ctx, user, verb, path)
	if err != nil {
		return false, err
	}
	ttl := denyTTL
	if allowed {
		ttl = allowTTL
	}
	g.authz.put(key, allowed, ttl)
	return allowed, nil
}
