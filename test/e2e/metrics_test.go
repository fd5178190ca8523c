package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tokenFor(ctx context.Context, t *testing.T, ns, name string) string {
	cs, err := kubernetes.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	seconds := int64(600)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// TestMetrics_AuthenticatedEndpoint checks the metrics endpoint refuses requests without a token or with a token
// that may not get /metrics, and serves Sail's metrics to one that may.
func TestMetrics_AuthenticatedEndpoint(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	port := freePort(t)
	op, err := cluster.StartOperator(t.TempDir(), "operator", fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", port))
	g.Expect(err).NotTo(HaveOccurred())
	defer op.Stop()
	defer op.DumpLogOnFailure(t)

	ns := "metrics-e2e"
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).To(Succeed())
	for _, sa := range []string{"prometheus", "nobody"} {
		g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}}))).To(Succeed())
	}
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "sail-e2e-metrics-reader"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}))).To(Succeed())
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "sail-e2e-metrics-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "sail-e2e-metrics-reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "prometheus"}}}))).To(Succeed())

	httpClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the operator serves a self-signed certificate
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/metrics", port), nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	g.Eventually(func() int { code, _ := get(""); return code }, waitFor, 250*time.Millisecond).Should(Equal(http.StatusUnauthorized),
		"a request without a token is refused")
	code, _ := get(tokenFor(ctx, t, ns, "nobody"))
	g.Expect(code).To(Equal(http.StatusForbidden), "a token that may not get /metrics is refused")
	token := tokenFor(ctx, t, ns, "prometheus")
	// The controllers' own metrics appear once they have started, which can be after the endpoint serves.
	g.Eventually(func(g Gomega) {
		code, body := get(token)
		g.Expect(code).To(Equal(http.StatusOK))
		for _, metric := range []string{"sail_chart_renders_total", "sail_apply_requests_total", "controller_runtime_max_concurrent_reconciles"} {
			g.Expect(strings.Contains(body, metric)).To(BeTrue(), "serves %s", metric)
		}
	}, waitFor, 250*time.Millisecond).Should(Succeed())
}
