package external

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

const (
	waitFor   = framework.MultiClusterWait
	namespace = "external-istiod"
	samples   = "config/samples/multicluster/external/"
)

// TestExternalControlPlane follows docs/multicluster-external.md with its samples: the config secret from
// sailctl, Sail installing the external istiod in cluster A and the remote profile as config cluster in B. The
// real istiod, run from A's Deployment with the kubeconfig the chart mounts, lists B's Services (and not A's),
// writes its root certificate into B's namespaces and its CA bundle into B's injection webhook, validates B's
// Istio config (it switches B's validating webhooks to Fail), and injects a pod created in B. Sail installs no
// webhook and no Istio CRD in A.
func TestExternalControlPlane(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	host.RunOperatorT(t)
	config.RunOperatorT(t)

	host.EnsureNamespace(t, namespace, nil)
	host.ApplySample(t, samples+"expose-istiod.yaml", nil, nil)
	addr := host.ServiceClusterIP(t, namespace, "istiod-external")
	vars := map[string]string{"EXTERNAL_ISTIOD_ADDR": addr}

	code, secret, stderr := config.CreateRemoteSecret(t, "--type", "config", "--name", "cluster-b", "-n", namespace)
	g.Expect(code).To(Equal(0), stderr)
	g.Expect(secret.Name).To(Equal("istio-kubeconfig"))
	host.ApplySecret(t, secret)

	host.ApplySample(t, samples+"external-istiod.yaml", vars, nil)
	host.WaitCondition(t, &sailv1.Istio{}, "default", sailv1.ConditionReady, "True")
	config.EnsureNamespace(t, namespace, nil)
	config.ApplySample(t, samples+"config-cluster.yaml", vars, nil)
	config.WaitCondition(t, &sailv1.Istio{}, "default", sailv1.ConditionReady, "True")
	assertNothingForConfigInA(t)

	config.EnsureNamespace(t, "sample", map[string]string{"istio-injection": "enabled"})
	g.Expect(config.CreateService(t, "sample", "in-b")).To(HavePrefix("10.1."))
	host.EnsureNamespace(t, "sample-a", nil)
	host.CreateService(t, "sample-a", "in-a")

	in := host.StartExternalIstiodT(t, framework.ExternalIstiodOptions{ConfigCluster: config, Address: addr,
		IstiodOptions: framework.IstiodOptions{Namespace: namespace, Revision: "default", Version: "v1.31.0"}})
	registry := func() string { return in.DebugText("/debug/registryz") }
	g.Eventually(registry, waitFor).Should(ContainSubstring("in-b.sample.svc.cluster.local"))
	g.Expect(registry()).NotTo(ContainSubstring("in-a.sample-a.svc.cluster.local"), "istiod reads B only")

	rootCert := func(c *framework.Cluster, ns string) error {
		return c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "istio-ca-root-cert"}, &corev1.ConfigMap{})
	}
	g.Eventually(func() error { return rootCert(config, "sample") }, waitFor).Should(Succeed())
	g.Expect(rootCert(host, "sample-a")).NotTo(Succeed(), "istiod writes nothing into cluster A")
	g.Eventually(func() string { return injectorCABundle(t, config) }, waitFor).ShouldNot(BeEmpty())
	// istiod switches B's validating webhooks to Fail only once B's API server, calling it at the address,
	// had it reject a dry run of invalid config.
	g.Eventually(func() []string { return validationPolicies(t, config) }, waitFor).Should(
		And(Not(BeEmpty()), HaveEach("Fail")), "cluster B validates Istio config with the external istiod")

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "sample", Name: "app"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}}}
	g.Eventually(func() error { return config.Client.Create(ctx, pod) }, waitFor).Should(Succeed())
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	g.Expect(names).To(ContainElement("istio-proxy"), "the pod created in B was injected by the external istiod")
	g.Expect(pod.Annotations).To(HaveKey("sidecar.istio.io/status"))
	t.Logf("pod sample/app in cluster B has containers %v, annotations %v", names, pod.Annotations)
}

// assertNothingForConfigInA checks that Sail installed in cluster A no admission webhook and no Istio CRD (the
// external istiod patches and serves the config cluster's webhooks and reads the config cluster's CRDs, and
// nothing in A would call it), and that the revision says why there are no CRDs.
func assertNothingForConfigInA(t *testing.T) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	mutating := &admissionregistrationv1.MutatingWebhookConfigurationList{}
	g.Expect(host.Client.List(ctx, mutating)).To(Succeed())
	g.Expect(mutating.Items).To(BeEmpty())
	validating := &admissionregistrationv1.ValidatingWebhookConfigurationList{}
	g.Expect(host.Client.List(ctx, validating)).To(Succeed())
	g.Expect(validating.Items).To(BeEmpty())
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	g.Expect(host.Client.List(ctx, crds)).To(Succeed())
	for _, crd := range crds.Items {
		g.Expect(crd.Spec.Group).NotTo(HaveSuffix("istio.io"), "Istio CRD %s in cluster A", crd.Name)
	}
	crdsCondition := func(c *framework.Cluster) func() string {
		return func() string { return c.ConditionOf(&sailv1.IstioRevision{}, "default", sailv1.ConditionIstioCRDs) }
	}
	g.Eventually(crdsCondition(host), waitFor).Should(HavePrefix("True: " + sailv1.ReasonCRDsNotNeeded))
	g.Eventually(crdsCondition(config), waitFor).Should(HavePrefix("True: "+sailv1.ReasonCRDsInstalled),
		"the config cluster has the CRDs")
}

// injectorCABundle returns the caBundle of the first webhook of the config cluster's injection webhook
// configuration of the default revision ("" until there is one).
func injectorCABundle(t *testing.T, c *framework.Cluster) string {
	t.Helper()
	list := &admissionregistrationv1.MutatingWebhookConfigurationList{}
	if err := c.Client.List(context.Background(), list, client.MatchingLabels{"istio.io/rev": "default"}); err != nil {
		return ""
	}
	if len(list.Items) == 0 || len(list.Items[0].Webhooks) == 0 {
		return ""
	}
	return string(list.Items[0].Webhooks[0].ClientConfig.CABundle)
}

// validationPolicies returns the failure policy of every webhook of the config cluster's validating webhook
// configurations of the default revision.
func validationPolicies(t *testing.T, c *framework.Cluster) []string {
	t.Helper()
	list := &admissionregistrationv1.ValidatingWebhookConfigurationList{}
	if err := c.Client.List(context.Background(), list, client.MatchingLabels{"istio.io/rev": "default"}); err != nil {
		return nil
	}
	var out []string
	for _, vwc := range list.Items {
		for _, w := range vwc.Webhooks {
			if w.FailurePolicy != nil {
				out = append(out, string(*w.FailurePolicy))
			}
		}
	}
	return out
}
