package metricsauth

import (
	"context"
	"fmt"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
)

// APIReviewer is the Reviewer that asks the API server: TokenReview and SubjectAccessReview.
type APIReviewer struct {
	tokens authenticationclient.TokenReviewInterface
	access authorizationclient.SubjectAccessReviewInterface
}

// NewAPIReviewer returns a reviewer for the API server of config.
func NewAPIReviewer(config *rest.Config, httpClient *http.Client) (*APIReviewer, error) {
	authn, err := authenticationclient.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building the TokenReview client of the metrics endpoint: %w", err)
	}
	authz, err := authorizationclient.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building the SubjectAccessReview client of the metrics endpoint: %w", err)
	}
	return &APIReviewer{tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews()}, nil
}

// Authenticate reviews token; a token the API server does not accept is not an error.
func (a *APIReviewer) Authenticate(ctx context.Context, token string) (*User, bool, error) {
	review := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}
	got, err := a.tokens.Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("creating a TokenReview (the operator needs create on tokenreviews): %w", err)
	}
	if !got.Status.Authenticated {
		return nil, false, nil
	}
	u := got.Status.User
	extra := map[string][]string{}
	for k, v := range u.Extra {
		extra[k] = v
	}
	return &User{Name: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra}, true, nil
}

// Authorize asks whether user may use verb on the non-resource path.
func (a *APIReviewer) Authorize(ctx context.Context, user *User, verb, path string) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range user.Extra {
		extra[k] = v
	}
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user.Name, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
	}}
	got, err := a.access.Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("creating a SubjectAccessReview (the operator needs create on subjectaccessreviews): %w", err)
	}
	return got.Status.Allowed && !got.Status.Denied, nil
}
