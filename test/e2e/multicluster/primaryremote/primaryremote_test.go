package primaryremote

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/remoteusage"
	"github.com/sail-mesh/sail/test/framework"
)

const waitFor = framework.MultiClusterWait

// sample is the path of a sample manifest of this topology.
func sample(name string) string {
	return filepath.Join("config", "samples", "multicluster", "primaryremote", name)
}

// readyOf returns "<status>: <reason>: <message>" of the remote cluster's default IstioRevision's Ready.
func readyOf() string {
	return remote.ConditionOf(&sailv1.IstioRevision{}, "default", sailv1.ConditionReady)
}

// TestPrimaryRemote_RealIstiodInjectsRemotePods installs the primary (externalIstiod) and the remote (profile
// remote, remotePilotAddress the primary istiod's address) from the samples. The remote revision's Ready is False
// (RemoteControlPlaneNotServing) and says what is missing: first the caBundle (the primary does not read this
// cluster), then, once the primary's real istiod reads the remote cluster through its remote secret and writes
// the caBundle, that the API server cannot call the webhook (nothing forwards the remote istiod Service's
// ClusterIP yet: no kube-proxy). With the address forwarded, Ready is True, and a pod created in the remote
// cluster is injected by the primary's istiod for cluster-remote, its discovery address resolving to the primary.
func TestPrimaryRemote_RealIstiodInjectsRemotePods(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	start := time.Now()
	step := func(what string) { t.Logf("%s: %s", time.Since(start).Round(time.Second), what) }
	primary.RunOperatorT(t)
	primary.CreateIstio(t, framework.ReadIstioSample(t, sample("primary.yaml"), nil))
	primaryIP := primary.ServiceIPT(t, "istio-system", "istiod")
	step("primary Ready")

	remote.RunOperatorT(t)
	g.Expect(remote.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system",
		Annotations: map[string]string{"topology.istio.io/controlPlaneClusters": "cluster-primary"}}})).To(Succeed())
	g.Expect(remote.Client.Create(ctx, framework.ReadIstioSample(t, sample("remote.yaml"),
		map[string]string{"PRIMARY_ISTIOD_ADDRESS": primaryIP}))).To(Succeed())
	g.Eventually(readyOf, waitFor).Should(And(HavePrefix("False: RemoteControlPlaneNotServing:"), ContainSubstring("no caBundle")))
	step("remote revision before the primary reads it: " + readyOf())
	checkRemoteEndpoints(t, primaryIP)

	code, secret, stderr := remote.CreateRemoteSecret(t, "--name", "cluster-remote")
	g.Expect(code).To(Equal(0), stderr)
	primary.ApplySecret(t, secret)
	in := primary.StartIstiodT(t, framework.IstiodOptions{Namespace: "istio-system", Revision: "default",
		Version: "v1.31.0"})
	g.Eventually(func() string { return in.ClusterStatus("cluster-remote") }, waitFor).Should(Equal("synced"))
	g.Eventually(readyOf, waitFor).Should(And(HavePrefix("False: RemoteControlPlaneNotServing:"),
		ContainSubstring("cannot call the primary's injection webhook")))
	step("remote revision with the caBundle written, the address not reachable: " + readyOf())

	// kube-proxy's part in the remote cluster (the istiod Service's ports to its endpoint, the primary's address),
	// and istiod's webhook port 15017 (the harness's istiod serves HTTPS on 443 of its address).
	remoteIP := remote.ServiceIPT(t, "istio-system", "istiod")
	framework.ForwardTCPT(t, remoteIP+":443", primaryIP+":15017")
	framework.ForwardTCPT(t, remoteIP+":15012", primaryIP+":15012")
	framework.ForwardTCPT(t, primaryIP+":15017", primaryIP+":443")
	g.Eventually(readyOf, waitFor).Should(HavePrefix("True: Ready: The primary control plane serves this remote revision"))
	step("remote revision served: " + readyOf())
	remote.WaitCondition(t, &sailv1.Istio{}, "default", sailv1.ConditionReady, "True")

	g.Expect(remote.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sample",
		Labels: map[string]string{"istio-injection": "enabled"}}})).To(Succeed())
	checkInjectedForRemote(t, createPod(t, "by-ip"))
	step("pod injected")
	// The primary's operator would keep its revision for this pod (remoteusage, read through the remote secret).
	keep := (&remoteusage.Checker{Secrets: primary.Client}).KeepReason(ctx, "istio-system", "default")
	g.Expect(keep).To(Equal("remote cluster cluster-remote uses it (namespace sample selects default)"))

	switchToDNSName(t, primaryIP)
	checkInjectedForRemote(t, createPod(t, "by-dns-name"))
	step("pod injected through the DNS name")
	g.Expect(in.LogLines("\terror\t", "cluster-remote")).To(BeEmpty(), "no error about the remote cluster")
}

// switchToDNSName changes the remote Istio's remotePilotAddress to the DNS name localhost (the one name that
// resolves in the private network namespace), where the primary's istiod ports are published (forwarded to its
// address, as a gateway would), and waits until the remote revision is served again: the istiod Service is of
// type ExternalName now, and the webhook calls localhost:15017 (Sail sets the webhook's port to the Service's
// target port; the API server would otherwise call localhost:443, where nothing listens).
func switchToDNSName(t *testing.T, primaryIP string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	framework.ForwardTCPT(t, "127.0.0.1:15017", primaryIP+":15017")
	framework.ForwardTCPT(t, "127.0.0.1:15012", primaryIP+":15012")
	istio := framework.ReadIstioSample(t, sample("remote.yaml"), map[string]string{"PRIMARY_ISTIOD_ADDRESS": "localhost"})
	live := &sailv1.Istio{}
	g.Expect(remote.Client.Get(ctx, client.ObjectKey{Name: "default"}, live)).To(Succeed())
	patch := client.MergeFrom(live.DeepCopy())
	live.Spec = istio.Spec
	g.Expect(remote.Client.Patch(ctx, live, patch)).To(Succeed())
	g.Eventually(func() (string, error) {
		svc := &corev1.Service{}
		err := remote.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "istiod"}, svc)
		return string(svc.Spec.Type) + " " + svc.Spec.ExternalName, err
	}, waitFor).Should(Equal("ExternalName localhost"))
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	g.Eventually(func() (int32, error) {
		err := remote.Client.Get(ctx, client.ObjectKey{Name: "istio-sidecar-injector"}, mwc)
		if err != nil || len(mwc.Webhooks) == 0 || mwc.Webhooks[0].ClientConfig.Service == nil {
			return 0, err
		}
		return ptr.Deref(mwc.Webhooks[0].ClientConfig.Service.Port, 0), nil
	}, waitFor).Should(BeEquivalentTo(15017))
	g.Eventually(func() string {
		rev := &sailv1.IstioRevision{}
		if err := remote.Client.Get(ctx, client.ObjectKey{Name: "default"}, rev); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(rev.Status.Conditions, sailv1.ConditionReady)
		if c == nil || c.ObservedGeneration != rev.Generation || rev.Spec.Values.Global.RemotePilotAddress != "localhost" {
			return "not observed yet"
		}
		return string(c.Status) + ": " + c.Message
	}, waitFor).Should(HavePrefix("True: The primary control plane serves this remote revision"))
}

// checkRemoteEndpoints checks that the remote profile rendered the istiod Service of the remote cluster with the
// primary's address as its endpoint.
func checkRemoteEndpoints(t *testing.T, primaryIP string) {
	t.Helper()
	g := NewWithT(t)
	slices := &discoveryv1.EndpointSliceList{}
	g.Eventually(func() ([]string, error) {
		err := remote.Client.List(context.Background(), slices, client.InNamespace("istio-system"),
			client.MatchingLabels{"kubernetes.io/service-name": "istiod"})
		var addrs []string
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				addrs = append(addrs, e.Addresses...)
			}
		}
		return addrs, err
	}, waitFor).Should(Equal([]string{primaryIP}))
}

// createPod creates a pod in the injection-enabled namespace sample of the remote cluster and returns it as
// stored.
func createPod(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "sample", Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}}}
	NewWithT(t).Expect(remote.Client.Create(context.Background(), pod)).To(Succeed())
	return pod
}

// checkInjectedForRemote checks that the primary's istiod injected the pod as one of cluster-remote, its sidecar
// connecting to the remote cluster's istiod Service (whose endpoint is the primary).
func checkInjectedForRemote(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(pod.Annotations).To(HaveKey("sidecar.istio.io/status"), "injected by istiod")
	proxy := proxyOf(pod)
	g.Expect(proxy).NotTo(BeNil(), "an istio-proxy container")
	env := map[string]string{}
	for _, e := range proxy.Env {
		env[e.Name] = e.Value
	}
	g.Expect(env).To(HaveKeyWithValue("ISTIO_META_CLUSTER_ID", "cluster-remote"))
	g.Expect(env).To(HaveKeyWithValue("ISTIO_META_NETWORK", "network1"))
	g.Expect(env).To(HaveKeyWithValue("CA_ADDR", "istiod.istio-system.svc:15012"),
		"the sidecar's control plane address: the remote cluster's istiod Service, whose endpoint is the primary")
	t.Logf("injected %s/%s: %s, CA_ADDR %s", pod.Namespace, pod.Name, pod.Annotations["sidecar.istio.io/status"],
		env["CA_ADDR"])
}

// proxyOf returns the pod's istio-proxy container (a native sidecar or not), nil if none.
func proxyOf(pod *corev1.Pod) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == "istio-proxy" {
				return &list[i]
			}
		}
	}
	return nil
}
