package realistiod

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

// noFightWindow is how long istiod runs while Sail's writes to what istiod writes are counted. SAIL_NOFIGHT_WINDOW
// (a Go duration) shortens it for local runs.
func noFightWindow(t *testing.T) time.Duration {
	if v := os.Getenv("SAIL_NOFIGHT_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		return d
	}
	return 5 * time.Minute
}

// istioConfig is an Istio config object; valid or not depending on the regex.
func virtualService(namespace, name, regex string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
		"metadata": map[string]any{"namespace": namespace, "name": name},
		"spec": map[string]any{
			"hosts": []any{"reviews"},
			"http": []any{map[string]any{
				"match": []any{map[string]any{"uri": map[string]any{"regex": regex}}},
				"route": []any{map[string]any{"destination": map[string]any{"host": "reviews"}}},
			}},
		},
	}}
}

// TestRealIstiod_DefaultRevision installs the default revision (InPlace Istio named default) and runs its real
// istiod: before istiod is up, Istio config can be written (the validating webhook fails open, as the chart
// intends); istiod starts without an error, leads, fills in its webhooks; pods are injected through Sail's
// webhooks (istio-injection=enabled namespaces and sidecar.istio.io/inject=true pods), invalid config is
// rejected; the Istio stays Ready; and while istiod runs Sail sends no write to the webhook configurations,
// ConfigMaps and Secrets istiod writes.
func TestRealIstiod_DefaultRevision(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	startOperator(t)
	createNamespace(t, "istio-system", nil)
	createIstio(t, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{
		Version: "v1.31.0", Namespace: "istio-system"}})
	createNamespace(t, "config", nil)
	c = istioClient(t)

	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "istio-validator-istio-system"}, vwc)).To(Succeed())
	g.Expect(*vwc.Webhooks[0].FailurePolicy).To(Equal(admissionregistrationv1.Ignore), "created failing open")
	g.Expect(c.Create(ctx, virtualService("config", "before-istiod", "^/api/.*"))).To(Succeed(),
		"Istio config can be written before istiod runs")

	start := time.Now()
	istiod := startIstiod(t, "istio-system", "default", "v1.31.0")
	t.Logf("istiod ready %s after start", time.Since(start).Round(time.Millisecond))

	t.Run("istiod fills in its webhooks and the root certificate", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(func() string {
			_ = c.Get(ctx, client.ObjectKey{Name: "istio-validator-istio-system"}, vwc)
			return string(*vwc.Webhooks[0].FailurePolicy) + "/" + yesNo(len(vwc.Webhooks[0].ClientConfig.CABundle) > 0)
		}, waitFor).Should(Equal("Fail/yes"), "istiod switches validation to Fail and writes its CA bundle")
		mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
		g.Eventually(func() bool {
			_ = c.Get(ctx, client.ObjectKey{Name: "istio-sidecar-injector"}, mwc)
			return len(mwc.Webhooks) > 0 && len(mwc.Webhooks[0].ClientConfig.CABundle) > 0
		}, waitFor).Should(BeTrue(), "istiod writes the injector's CA bundle")
		g.Eventually(func() error {
			return c.Get(ctx, client.ObjectKey{Namespace: "config", Name: "istio-ca-root-cert"}, &corev1.ConfigMap{})
		}, waitFor).Should(Succeed(), "istiod writes its root certificate into every namespace")
	})

	t.Run("pods are injected through Sail's webhooks", func(t *testing.T) {
		g := NewWithT(t)
		createNamespace(t, "inject-ns", map[string]string{"istio-injection": "enabled"})
		createNamespace(t, "inject-pod", nil)
		for _, pod := range []*corev1.Pod{
			testPod("inject-ns", "by-namespace", nil),
			testPod("inject-pod", "by-pod-label", map[string]string{"sidecar.istio.io/inject": "true"}),
		} {
			start := time.Now()
			g.Expect(c.Create(ctx, pod)).To(Succeed())
			t.Logf("%s/%s created (injection included) in %s", pod.Namespace, pod.Name, time.Since(start).Round(time.Millisecond))
			sidecar := sidecarOf(pod)
			g.Expect(sidecar).NotTo(BeNil(), "%s/%s has istio-proxy", pod.Namespace, pod.Name)
			g.Expect(sidecar.Image).To(Equal("docker.io/istio/proxyv2:1.31.0"))
			g.Expect(pod.Annotations).To(HaveKeyWithValue("istio.io/rev", "default"))
		}
		plain := testPod("inject-pod", "not-selected", nil)
		g.Expect(c.Create(ctx, plain)).To(Succeed())
		g.Expect(sidecarOf(plain)).To(BeNil(), "a pod nothing selects is not injected")
	})

	t.Run("invalid Istio config is rejected", func(t *testing.T) {
		g := NewWithT(t)
		err := c.Create(ctx, virtualService("config", "bad-regex", "^/api/(.*"))
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring("validation.istio.io"))
		g.Expect(c.Create(ctx, virtualService("config", "good", "^/api/.*"))).To(Succeed())
	})

	t.Run("istiod logs no error and the Istio stays Ready", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(unexpectedErrors(t, istiod, time.Time{})).To(BeEmpty())
		g.Consistently(readyStatus("default"), 3*time.Second).Should(HavePrefix("True"))
	})

	t.Run("Sail does not fight istiod", func(t *testing.T) {
		g := NewWithT(t)
		window := noFightWindow(t)
		time.Sleep(time.Until(start.Add(window)))
		end := time.Now()
		time.Sleep(2 * time.Second) // let the audit log flush
		sail := istiodWrites(t, "sail-operator", start, end)
		istiodOwn := istiodWrites(t, "pilot-discovery", start, end)
		t.Logf("over %s of istiod running: Sail wrote %d times to what istiod writes, istiod %d times",
			end.Sub(start).Round(time.Second), len(sail), len(istiodOwn))
		g.Expect(istiodOwn).NotTo(BeEmpty(), "istiod wrote its webhooks, ConfigMaps and Secrets")
		g.Expect(sail).To(BeEmpty(), "Sail sends no write to the objects istiod writes")
		g.Expect(unexpectedErrors(t, istiod, time.Time{})).To(BeEmpty())
		g.Expect(readyStatus("default")()).To(HavePrefix("True"))
	})
}

// startupRetries are the error lines every istiod logs while it starts, wherever it runs: its validation controller
// probes its own webhook until the API server reaches it, then switches the failure policy to Fail.
var startupRetries = []string{"webhook is not ready, retry"}

// unexpectedErrors returns istiod's error lines other than its start-up retries and its retries after racing
// itself, logged before until (all when until is zero).
func unexpectedErrors(t *testing.T, in *framework.Istiod, until time.Time) []string {
	var out []string
	for _, line := range in.ErrorLinesBefore(until) {
		known := selfConflict(t, in, line)
		for _, r := range startupRetries {
			known = known || strings.Contains(line, r)
		}
		if !known {
			out = append(out, line)
		}
	}
	return out
}

// conflictRetry matches istiod's log lines for an update it retries because its cached copy of an object was stale
// ("... Operation cannot be fulfilled on <resource>[.<group>] "<name>": the object has been modified ..."), with
// the namespace when the line names one ("error handling <namespace>/<name>, retrying").
var (
	conflictRetry     = regexp.MustCompile(`Operation cannot be fulfilled on ([a-z]+)(?:\.[a-z0-9.-]+)? "([^"]+)": the object has been modified`)
	conflictNamespace = regexp.MustCompile(`error handling ([^/\s]+)/[^,\s]+, retrying`)
)

// selfConflict reports whether line is a conflict retry on an object that nobody but istiod wrote since istiod
// started: istiod's controllers racing their own earlier write, which it retries. A write by anyone else (Sail
// above all) makes the line unexpected.
func selfConflict(t *testing.T, in *framework.Istiod, line string) bool {
	m := conflictRetry.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	resource, name, namespace := m[1], m[2], ""
	if ns := conflictNamespace.FindStringSubmatch(line); ns != nil {
		namespace = ns[1]
	}
	writes, err := framework.AuditWrites(cluster.Local.AuditLogPath(), "", in.Started, time.Now())
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	for _, w := range writes {
		sameObject := strings.SplitN(w.Resource, "/", 2)[0] == resource && w.Name == name &&
			(namespace == "" || w.Namespace == namespace)
		if sameObject && !strings.HasPrefix(w.UserAgent, "pilot-discovery") {
			t.Logf("%s %s/%s was also written by %s (%s)", resource, w.Namespace, name, w.UserAgent, w.Verb)
			return false
		}
	}
	return true
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// istiodWrites lists the writes of agent to the kinds istiod writes (webhook configurations, ConfigMaps, Secrets)
// between from and to, as "verb resource namespace/name".
func istiodWrites(t *testing.T, agent string, from, to time.Time) []string {
	writes, err := framework.AuditWrites(cluster.Local.AuditLogPath(), agent, from, to)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, w := range writes {
		switch strings.SplitN(w.Resource, "/", 2)[0] {
		case "mutatingwebhookconfigurations", "validatingwebhookconfigurations", "configmaps", "secrets":
			out = append(out, w.Verb+" "+w.Resource+" "+w.Namespace+"/"+w.Name)
		}
	}
	return out
}
