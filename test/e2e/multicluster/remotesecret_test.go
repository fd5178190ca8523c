package multicluster

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/mesh/remotesecret"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
	"github.com/sail-mesh/sail/test/framework"
)

// clientFromSecret builds a clientset from the kubeconfig under key in a remote secret, as istiod does.
func clientFromSecret(t *testing.T, secret *corev1.Secret, key string) (kubernetes.Interface, string) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(secret.Data).To(HaveKey(key))
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data[key])
	g.Expect(err).NotTo(HaveOccurred())
	cs, err := kubernetes.NewForConfig(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	return cs, cfg.Host
}

// tokenSecrets returns the token Secrets create-remote-secret made for a ServiceAccount.
func tokenSecrets(t *testing.T, namespace, serviceAccount string) []corev1.Secret {
	t.Helper()
	list, err := kubernetes.NewForConfigOrDie(remote.Config).CoreV1().Secrets(namespace).List(context.Background(),
		metav1.ListOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	var out []corev1.Secret
	for _, s := range list.Items {
		if strings.HasPrefix(s.Name, remotesecret.TokenSecretPrefix(serviceAccount)) {
			out = append(out, s)
		}
	}
	return out
}

// whoAmI returns the user the API server authenticates cs as, or the error.
func whoAmI(cs kubernetes.Interface) (string, error) {
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(context.Background(),
		&authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return r.Status.UserInfo.Username, nil
}

// installReaderRBAC applies the istio-reader ClusterRole and ClusterRoleBinding of the real istiod chart, as an
// install of Istio in namespace of the remote cluster would.
func installReaderRBAC(t *testing.T, namespace string) {
	t.Helper()
	g := NewWithT(t)
	objs, err := framework.HelmTemplate("v1.31.0", versions.ChartIstiod, "istiod", namespace,
		map[string]any{"global": map[string]any{"istioNamespace": namespace}})
	g.Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, u := range objs {
		if (u.GetKind() == "ClusterRole" || u.GetKind() == "ClusterRoleBinding") && u.GetLabels()["app"] == "istio-reader" {
			g.Expect(remote.Client.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u),
				client.FieldOwner("sail-e2e"), client.ForceOwnership)).To(Succeed())
			n++
		}
	}
	g.Expect(n).To(Equal(2), "the istiod chart has the istio-reader ClusterRole and its binding")
}

// TestCreateRemoteSecret_ReaderAuthenticatesAndRotates runs create-remote-secret for a primary on a cluster
// without Istio: it creates the reader's ServiceAccount and token Secret, prints a remote secret whose kubeconfig
// authenticates as that ServiceAccount, warns that the account may not list Services until Istio's reader RBAC is
// there, and lists Services once it is. A second run replaces the token: the new one works, the old one is rejected (once the API server's
// 10 s cache of authenticated tokens has expired).
func TestCreateRemoteSecret_ReaderAuthenticatesAndRotates(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	admin := kubernetes.NewForConfigOrDie(remote.Config)
	const sa = remotesecret.ReaderServiceAccount

	const ns = "rotation" // a namespace of its own, whose reader has no RBAC until installReaderRBAC
	code, first, stderr := remote.CreateRemoteSecret(t, "--name", "cluster-b", "-n", ns)
	g.Expect(code).To(Equal(0), stderr)
	g.Expect(stderr).To(ContainSubstring("may not list Services"), "warns while no RBAC grants the reader access")
	g.Expect(first.Name).To(Equal("istio-remote-secret-cluster-b"))
	g.Expect(first.Namespace).To(Equal(ns))
	g.Expect(first.Labels).To(HaveKeyWithValue("istio/multiCluster", "true"))
	g.Expect(first.Annotations).To(HaveKeyWithValue("networking.istio.io/cluster", "cluster-b"))
	g.Expect(first.Data).To(HaveLen(1))

	_, err := admin.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred(), "the ServiceAccount was created")
	tokens := tokenSecrets(t, ns, sa)
	g.Expect(tokens).To(HaveLen(1), "one token Secret was created")
	g.Expect(tokens[0].Type).To(Equal(corev1.SecretTypeServiceAccountToken))

	oldClient, host := clientFromSecret(t, first, "cluster-b")
	g.Expect(host).To(Equal(remote.Config.Host), "the server defaults to the kubeconfig's")
	g.Expect(whoAmI(oldClient)).To(Equal("system:serviceaccount:" + ns + ":" + sa))
	_, err = oldClient.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "no RBAC yet: %v", err)

	installReaderRBAC(t, ns)
	g.Eventually(func() error {
		_, err := oldClient.CoreV1().Services("").List(ctx, metav1.ListOptions{})
		return err
	}, "30s").Should(Succeed(), "with the chart's istio-reader RBAC the reader lists Services")

	code, second, stderr := remote.CreateRemoteSecret(t, "--name", "cluster-b", "-n", ns)
	g.Expect(code).To(Equal(0), stderr)
	g.Expect(stderr).NotTo(ContainSubstring("may not list Services"))
	g.Expect(bytes.Equal(second.Data["cluster-b"], first.Data["cluster-b"])).To(BeFalse(), "a new token")
	rotated := tokenSecrets(t, ns, sa)
	g.Expect(rotated).To(HaveLen(1), "the old token Secret is deleted")
	g.Expect(rotated[0].Name).NotTo(Equal(tokens[0].Name))
	newClient, _ := clientFromSecret(t, second, "cluster-b")
	g.Expect(whoAmI(newClient)).To(Equal("system:serviceaccount:" + ns + ":" + sa))
	// The API server caches successful token authentications for 10 s.
	g.Eventually(func() bool {
		_, err := whoAmI(oldClient)
		return apierrors.IsUnauthorized(err)
	}, "30s").Should(BeTrue(), "the old token is rejected after rotation")
}

// TestCreateRemoteSecret_DNSServerName writes a DNS name as the API server address; the client built from the
// secret reaches and authenticates to the API server through it.
func TestCreateRemoteSecret_DNSServerName(t *testing.T) {
	g := NewWithT(t)
	u, err := url.Parse(remote.Config.Host)
	g.Expect(err).NotTo(HaveOccurred())
	code, secret, stderr := remote.CreateRemoteSecret(t, "--name", "cluster-b", "-n", "dns", "--server", "localhost:"+u.Port())
	g.Expect(code).To(Equal(0), stderr)
	cs, host := clientFromSecret(t, secret, "cluster-b")
	g.Expect(host).To(Equal("https://localhost:" + u.Port()))
	g.Expect(whoAmI(cs)).To(HavePrefix("system:serviceaccount:"))
}

// TestCreateRemoteSecret_ConfigType makes the kubeconfig an external istiod reads its config cluster with: the
// Secret istio-kubeconfig with key config, for the istiod ServiceAccount.
func TestCreateRemoteSecret_ConfigType(t *testing.T) {
	g := NewWithT(t)
	code, secret, stderr := remote.CreateRemoteSecret(t, "--type", "config", "--name", "cluster-b", "-n", "external-istiod")
	g.Expect(code).To(Equal(0), stderr)
	g.Expect(secret.Name).To(Equal("istio-kubeconfig"))
	g.Expect(secret.Namespace).To(Equal("external-istiod"))
	cs, _ := clientFromSecret(t, secret, "config")
	g.Expect(whoAmI(cs)).To(Equal("system:serviceaccount:external-istiod:istiod"))
}

// TestCreateRemoteSecret_MissingServiceAccount fails, saying what to do, when the ServiceAccount does not exist
// and may not be created; it creates nothing.
func TestCreateRemoteSecret_MissingServiceAccount(t *testing.T) {
	g := NewWithT(t)
	code, secret, stderr := remote.CreateRemoteSecret(t, "--name", "cluster-b", "--service-account", "nobody",
		"--create-service-account=false")
	g.Expect(code).To(Equal(1))
	g.Expect(secret).To(BeNil())
	g.Expect(stderr).To(ContainSubstring("--create-service-account=true"))
	g.Expect(tokenSecrets(t, "istio-system", "nobody")).To(BeEmpty(), "no token Secret")
}
