package remotesecret

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig returns a self-contained kubeconfig for the cluster called name: server, CA data and bearer token
// inline, one context, which is current.
func Kubeconfig(name, server, tlsServerName string, caData, token []byte) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caData, TLSServerName: tlsServerName}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: string(token)}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	if err := clientcmd.Validate(*cfg); err != nil {
		return nil, fmt.Errorf("invalid kubeconfig: %w", err)
	}
	return clientcmd.Write(*cfg)
}

// buildSecret returns the Secret for the reading cluster, holding a kubeconfig with the token Secret's token and CA.
func buildSecret(opts Options, token *corev1.Secret) (*corev1.Secret, error) {
	kc, err := Kubeconfig(opts.Name, opts.Server, opts.TLSServerName, token.Data[corev1.ServiceAccountRootCAKey],
		token.Data[corev1.ServiceAccountTokenKey])
	if err != nil {
		return nil, err
	}
	name, key := RemoteSecretPrefix+opts.Name, opts.Name
	if opts.Type == TypeConfig {
		name, key = ConfigSecretName, ConfigSecretKey
	}
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   opts.Namespace,
			Labels:      map[string]string{MultiClusterLabel: "true"},
			Annotations: map[string]string{ClusterAnnotation: opts.Name},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{key: kc},
	}, nil
}

// checkAccess returns a warning when the ServiceAccount may not list Services cluster-wide (what istiod needs
// first), or "" when it may or when the check itself cannot be made.
func checkAccess(ctx context.Context, cs kubernetes.Interface, opts Options) string {
	user := "system:serviceaccount:" + opts.Namespace + ":" + opts.ServiceAccount
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               user,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + opts.Namespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "services"},
	}}
	got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil || got.Status.Allowed {
		return ""
	}
	return fmt.Sprintf("ServiceAccount %s/%s may not list Services in this cluster yet, so istiod cannot read it with "+
		"this secret: %s, or bind a ClusterRole with the same rules yourself",
		opts.Namespace, opts.ServiceAccount, rbacHint(opts))
}

// rbacHint says which install gives the ServiceAccount its rights: the reader's ClusterRole for a remote secret,
// istiod's own ClusterRole for the config secret of an external istiod.
func rbacHint(opts Options) string {
	if opts.Type == TypeConfig {
		return fmt.Sprintf("install the config cluster's Istio here (profile remote with values.global.configCluster: "+
			"its istiod chart binds the ClusterRole istiod-clusterrole-%s to istiod)", opts.Namespace)
	}
	return fmt.Sprintf("install Istio here (its istiod or istiod-remote chart binds the ClusterRole "+
		"istio-reader-clusterrole-%s to %s)", opts.Namespace, ReaderServiceAccount)
}
