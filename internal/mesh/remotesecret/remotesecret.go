// Package remotesecret makes the Secret that lets an istiod in one cluster read another cluster's API server (a
// "remote secret", as istioctl create-remote-secret makes it). It works against the cluster to be read: it makes
// sure the reader's ServiceAccount exists there, replaces its long-lived token Secret
// (kubernetes.io/service-account-token) with a new one of a new name, waits for kube-controller-manager to fill in the token, and
// returns the Secret to apply in the reading cluster: label istio/multiCluster=true, annotation
// networking.istio.io/cluster=<name>, and a kubeconfig (API server address, CA data, bearer token) as data.
//
// It creates no RBAC: the ServiceAccount's rights come from Istio's charts installed in the cluster to be read
// (the istiod and istiod-remote charts bind the ClusterRole istio-reader-clusterrole[-<revision>]-<namespace> to
// istio-reader-service-account, and give the istiod ServiceAccount its own roles). Create reports a warning when
// the ServiceAccount cannot yet list Services.
package remotesecret

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Type is the kind of remote secret.
type Type string

const (
	// TypeRemote is a secret a primary's istiod uses to discover a remote cluster's services and endpoints.
	TypeRemote Type = "remote"
	// TypeConfig is the kubeconfig an external istiod uses to read its config cluster.
	TypeConfig Type = "config"
)

// Labels, annotations and names of the Secret, as istiod reads them.
const (
	// MultiClusterLabel marks the Secrets istiod watches for remote clusters.
	MultiClusterLabel = "istio/multiCluster"
	// ClusterAnnotation names the cluster whose credentials the Secret holds.
	ClusterAnnotation = "networking.istio.io/cluster"
	// RemoteSecretPrefix starts the name of a TypeRemote Secret; the cluster name follows.
	RemoteSecretPrefix = "istio-remote-secret-"
	// ConfigSecretName is the name of a TypeConfig Secret.
	ConfigSecretName = "istio-kubeconfig"
	// ConfigSecretKey is the data key of a TypeConfig Secret's kubeconfig.
	ConfigSecretKey = "config"
	// ReaderServiceAccount is the default ServiceAccount of TypeRemote (made by Istio's base chart).
	ReaderServiceAccount = "istio-reader-service-account"
	// ConfigServiceAccount is the default ServiceAccount of TypeConfig (istiod's own).
	ConfigServiceAccount = "istiod"
	// TokenSecretSuffix ends the name of the token Secret made for a ServiceAccount.
	TokenSecretSuffix = "-sail-remote-token"
)

// Options says which remote secret to make.
type Options struct {
	// Name is the cluster name istiod knows the cluster by (a DNS-1123 label).
	Name string
	// Server is the API server address written in the kubeconfig: https://host[:port], host[:port] or an IP.
	Server string
	// TLSServerName, when set, is the name the API server's certificate is checked against.
	TLSServerName string
	// Type is TypeRemote or TypeConfig.
	Type Type
	// ServiceAccount whose token the kubeconfig carries; ReaderServiceAccount or ConfigServiceAccount if empty.
	ServiceAccount string
	// CreateServiceAccount creates the ServiceAccount (and its namespace) when it does not exist.
	CreateServiceAccount bool
	// Namespace of the ServiceAccount in the cluster read, and of the Secret printed.
	Namespace string
	// Timeout bounds the wait for the token; 30 s if zero.
	Timeout time.Duration
}

// Result is what Create made.
type Result struct {
	// Secret is to be applied in the reading cluster.
	Secret *corev1.Secret
	// TokenSecret is the token Secret in the cluster read.
	TokenSecret *corev1.Secret
	// Warnings say what may keep the Secret from working.
	Warnings []string
}

// Complete fills in defaults and checks the options.
func (o *Options) Complete() error {
	if o.Type == "" {
		o.Type = TypeRemote
	}
	switch o.Type {
	case TypeRemote:
		if o.ServiceAccount == "" {
			o.ServiceAccount = ReaderServiceAccount
		}
	case TypeConfig:
		if o.ServiceAccount == "" {
			o.ServiceAccount = ConfigServiceAccount
		}
	default:
		return fmt.Errorf("type must be %q or %q, not %q", TypeRemote, TypeConfig, o.Type)
	}
	if o.Namespace == "" {
		o.Namespace = "istio-system"
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if errs := validation.IsDNS1123Label(o.Name); len(errs) > 0 {
		return fmt.Errorf("cluster name %q is not a DNS-1123 label (%s): pass --name", o.Name, strings.Join(errs, "; "))
	}
	server, err := NormalizeServer(o.Server)
	if err != nil {
		return err
	}
	o.Server = server
	return nil
}

// NormalizeServer returns the API server address as an https URL. It accepts DNS names as well as IPv4 and IPv6
// addresses, with or without a scheme and port.
func NormalizeServer(server string) (string, error) {
	s := strings.TrimSpace(server)
	if s == "" {
		return "", fmt.Errorf("no API server address: pass --server")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("API server address %q is not a host, host:port or https URL", server)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("API server address %q: only https is supported", server)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// Create makes the remote secret for the cluster cs talks to. Each call replaces the token Secret, so the token
// in an earlier remote secret stops working once the new one is ready: apply the returned Secret in the reading cluster right away.
func Create(ctx context.Context, cs kubernetes.Interface, opts Options) (*Result, error) {
	if err := opts.Complete(); err != nil {
		return nil, err
	}
	if err := ensureServiceAccount(ctx, cs, opts); err != nil {
		return nil, err
	}
	token, err := replaceToken(ctx, cs, opts)
	if err != nil {
		return nil, err
	}
	secret, err := buildSecret(opts, token)
	if err != nil {
		return nil, err
	}
	res := &Result{Secret: secret, TokenSecret: token}
	if w := checkAccess(ctx, cs, opts); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	return res, nil
}

// ensureServiceAccount makes sure the ServiceAccount exists, creating it (and its namespace) if allowed.
func ensureServiceAccount(ctx context.Context, cs kubernetes.Interface, opts Options) error {
	_, err := cs.CoreV1().ServiceAccounts(opts.Namespace).Get(ctx, opts.ServiceAccount, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading ServiceAccount %s/%s: %w", opts.Namespace, opts.ServiceAccount, err)
	}
	if !opts.CreateServiceAccount {
		return fmt.Errorf("ServiceAccount %s/%s does not exist: install Istio in this cluster first, or pass "+
			"--create-service-account=true", opts.Namespace, opts.ServiceAccount)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opts.Namespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", opts.Namespace, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: opts.ServiceAccount, Namespace: opts.Namespace,
		Labels: managedBy}}
	if _, err := cs.CoreV1().ServiceAccounts(opts.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating ServiceAccount %s/%s: %w", opts.Namespace, opts.ServiceAccount, err)
	}
	return nil
}

// TokenSecretPrefix returns the start of the names of the token Secrets Create makes for a ServiceAccount; the
// API server adds a random suffix. (A legacy token only carries the Secret's name and the ServiceAccount, so a
// Secret recreated under the same name would get the very same token and leave the old one valid.)
func TokenSecretPrefix(serviceAccount string) string { return serviceAccount + TokenSecretSuffix + "-" }

// managedBy labels the token Secrets Create makes.
var managedBy = map[string]string{"app.kubernetes.io/managed-by": "sailctl"}

// replaceToken creates a new token Secret for the ServiceAccount, waits until kube-controller-manager has filled
// in its token and CA, then deletes the token Secrets an earlier run made, which invalidates their tokens.
func replaceToken(ctx context.Context, cs kubernetes.Interface, opts Options) (*corev1.Secret, error) {
	secrets := cs.CoreV1().Secrets(opts.Namespace)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{GenerateName: TokenSecretPrefix(opts.ServiceAccount), Namespace: opts.Namespace,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: opts.ServiceAccount}, Labels: managedBy},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	created, err := secrets.Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating a token Secret in %s: %w", opts.Namespace, err)
	}
	var filled *corev1.Secret
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, opts.Timeout, true, func(ctx context.Context) (bool, error) {
		got, err := secrets.Get(ctx, created.Name, metav1.GetOptions{})
		if err == nil && len(got.Data[corev1.ServiceAccountTokenKey]) > 0 && len(got.Data[corev1.ServiceAccountRootCAKey]) > 0 {
			filled = got
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("token Secret %s/%s got no token within %s: is kube-controller-manager running "+
			"with --service-account-private-key-file and --root-ca-file? (%w)", opts.Namespace, created.Name, opts.Timeout, err)
	}
	return filled, deleteOldTokens(ctx, cs, opts, created.Name)
}

// deleteOldTokens deletes the ServiceAccount's token Secrets made by earlier runs, all but keep, and waits until
// they are gone.
func deleteOldTokens(ctx context.Context, cs kubernetes.Interface, opts Options, keep string) error {
	list, err := cs.CoreV1().Secrets(opts.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/managed-by=sailctl"})
	if err != nil {
		return fmt.Errorf("listing the old token Secrets in %s: %w", opts.Namespace, err)
	}
	for _, old := range list.Items {
		if old.Name == keep || old.Type != corev1.SecretTypeServiceAccountToken ||
			old.Annotations[corev1.ServiceAccountNameKey] != opts.ServiceAccount {
			continue
		}
		if err := deleteAndWait(ctx, cs, opts.Namespace, old.Name, opts.Timeout); err != nil {
			return err
		}
	}
	return nil
}

// deleteAndWait deletes a Secret if it exists and waits until it is gone.
func deleteAndWait(ctx context.Context, cs kubernetes.Interface, namespace, name string, timeout time.Duration) error {
	secrets := cs.CoreV1().Secrets(namespace)
	err := secrets.Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting the old token Secret %s/%s: %w", namespace, name, err)
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := secrets.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
