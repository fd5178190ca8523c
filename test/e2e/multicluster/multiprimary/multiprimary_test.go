package multiprimary

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/cacerts"
	"github.com/sail-mesh/sail/test/framework"
)

const (
	version   = "v1.31.0"
	samples   = "config/samples/multicluster/multiprimary/"
	waitFor   = framework.MultiClusterWait
	echoHost  = "echo.sample.svc.cluster.local"
	sampleNS  = "sample"
	istioNS   = "istio-system"
	shardPref = "Kubernetes/" // istiod's shard key: registry, then cluster
)

// primary is one cluster of the mesh and what the test made there.
type primary struct {
	name    string
	network string // in the multi-network step
	cluster *framework.Cluster
	istiod  *framework.Istiod
	addr    string // the address of its endpoint of Service echo
}

// TestMultiPrimary installs Istio with Sail from the multi-primary samples in both clusters, each with its
// cacerts Secret of one shared root, applies the remote secrets both ways and runs both real istiods. On one
// network, each istiod lists the other cluster as synced, its Services, and its endpoints of a Service both
// clusters have; both load the plugged-in CA and sign with their cluster's intermediate (their serving
// certificate, and a workload CSR sent to their CA). On two networks (the multi-network samples: the namespace
// label and values.global.network), Sail finds both consistent and each istiod gives every endpoint its cluster's
// network.
func TestMultiPrimary(t *testing.T) {
	ca := framework.CreateMeshCA(t, "east", "west")
	mesh := []*primary{
		{name: "east", network: "network1", cluster: east, addr: "192.0.2.10"},
		{name: "west", network: "network2", cluster: west, addr: "198.51.100.10"},
	}
	for _, p := range mesh {
		install(t, p, ca, samples+"istio-"+p.name+".yaml")
	}
	connect(t, mesh[0], mesh[1])
	connect(t, mesh[1], mesh[0])
	for _, p := range mesh {
		createServices(t, p)
		p.istiod = p.cluster.StartIstiodT(t, framework.IstiodOptions{Namespace: istioNS, Revision: "default",
			Version: version})
	}
	t.Run("SameNetwork", func(t *testing.T) {
		checkReadsOther(t, mesh[0], mesh[1])
		checkReadsOther(t, mesh[1], mesh[0])
	})
	t.Run("PluggedInCA", func(t *testing.T) {
		for _, p := range mesh {
			checkPluggedInCA(t, p, ca, mesh)
		}
	})
	t.Run("MultiNetwork", func(t *testing.T) {
		for _, p := range mesh {
			p.cluster.ApplySample(t, samples+"multinetwork-"+p.name+".yaml", nil, pinVersion)
		}
		checkNetworks(t, mesh[0], mesh[1])
		checkNetworks(t, mesh[1], mesh[0])
	})
}

// pinVersion sets the Istio version the test has binaries of.
func pinVersion(u *unstructured.Unstructured) {
	if u.GetKind() == "Istio" {
		_ = unstructured.SetNestedField(u.Object, version, "spec", "version")
	}
}

// install runs the operator in p's cluster, creates its cacerts Secret, applies the Istio sample and waits until
// the Istio is Ready.
func install(t *testing.T, p *primary, ca *framework.MeshCA, sample string) {
	p.cluster.RunOperatorT(t)
	p.cluster.EnsureNamespace(t, istioNS, nil)
	p.cluster.ApplySecret(t, ca.Secrets[p.name])
	p.cluster.ApplySample(t, sample, nil, pinVersion)
	p.cluster.WaitCondition(t, &sailv1.Istio{}, "default", sailv1.ConditionReady, "True")
}

// connect lets reader's istiod read cluster read: sailctl create-remote-secret in read, applied in reader.
func connect(t *testing.T, reader, read *primary) {
	code, secret, stderr := read.cluster.CreateRemoteSecret(t, "--name", read.name)
	NewWithT(t).Expect(code).To(Equal(0), stderr)
	NewWithT(t).Expect(stderr).NotTo(ContainSubstring("may not list Services"),
		"Sail's install in %s bound the reader's RBAC", read.name)
	reader.cluster.ApplySecret(t, secret)
}

// createServices creates in p's cluster Service echo (which both clusters have) and only-<name>, each with one
// endpoint at p.addr.
func createServices(t *testing.T, p *primary) {
	p.cluster.EnsureNamespace(t, sampleNS, nil)
	p.cluster.CreateServiceWithEndpoints(t, sampleNS, "echo", p.addr)
	p.cluster.CreateServiceWithEndpoints(t, sampleNS, "only-"+p.name, p.addr)
}

// checkReadsOther checks that p's Istio has no NetworkConsistent condition (no network named), that p's istiod
// has synced the other cluster, lists its Service and holds the endpoints
// of Service echo of both clusters, each in its cluster's shard, on no network.
func checkReadsOther(t *testing.T, p, other *primary) {
	g := NewWithT(t)
	g.Expect(p.cluster.ConditionOf(&sailv1.Istio{}, "default", sailv1.ConditionNetworkConsistent)).To(
		Equal("no "+sailv1.ConditionNetworkConsistent+" condition"), "one network: nothing to compare")
	g.Eventually(func() string { return p.istiod.ClusterStatus(other.name) }, waitFor).Should(Equal("synced"),
		"%s's istiod reads %s", p.name, other.name)
	g.Eventually(func() string { return p.istiod.DebugText("/debug/registryz") }, waitFor).Should(
		ContainSubstring("only-"+other.name+".sample.svc.cluster.local"), "%s's istiod lists %s's Services", p.name, other.name)
	g.Eventually(func() map[string]string { return p.istiod.NetworksByAddress(echoHost, sampleNS, shardPref+other.name) },
		waitFor).Should(Equal(map[string]string{other.addr: ""}), "%s's istiod holds %s's endpoint of echo", p.name, other.name)
	g.Expect(p.istiod.NetworksByAddress(echoHost, sampleNS, shardPref+p.name)).To(Equal(map[string]string{p.addr: ""}))
	shards, _ := p.istiod.EndpointShards(echoHost, sampleNS)
	t.Logf("%s's istiod: endpoint shards of %s: %v", p.name, echoHost, shards)
}

// checkPluggedInCA checks that p's istiod loaded its cacerts Secret: it logs so, the istio-ca-root-cert ConfigMap
// it writes holds the mesh's root, and both its serving certificate and the workload certificate it signs for a
// CSR are signed by p's intermediate (not another's) and verify against the mesh's root.
func checkPluggedInCA(t *testing.T, p *primary, ca *framework.MeshCA, mesh []*primary) {
	g := NewWithT(t)
	g.Expect(p.istiod.LogLines("Use local CA certificate")).NotTo(BeEmpty(), "%s's istiod uses the plugged-in CA", p.name)
	g.Expect(p.istiod.LogLines("Use self-signed certificate")).To(BeEmpty())
	g.Eventually(func() string { return p.cluster.ConfigMapValue(sampleNS, "istio-ca-root-cert", "root-cert.pem") },
		waitFor).Should(Equal(string(ca.RootPEM)), "%s's istiod publishes the mesh's root", p.name)

	serving, err := p.istiod.ServingChain()
	g.Expect(err).NotTo(HaveOccurred())
	checkIssuedBy(t, "the serving certificate of "+p.name+"'s istiod", serving, p, ca, mesh)
	t.Logf("%s's istiod serves %v, issued by %q of %v", p.name, serving[0].DNSNames, serving[0].Issuer.CommonName,
		serving[0].Issuer.Locality)

	workload, err := p.cluster.SignWorkloadCSR(context.Background(), p.istiod, ca.RootPEM, sampleNS, "default")
	g.Expect(err).NotTo(HaveOccurred())
	checkIssuedBy(t, "the workload certificate "+p.name+"'s istiod signed", workload, p, ca, mesh)
	g.Expect(workload[0].URIs).To(HaveLen(1))
	g.Expect(workload[0].URIs[0].String()).To(Equal("spiffe://cluster.local/ns/sample/sa/default"))
	t.Logf("%s's istiod signed %s, issued by %q of %v, chain of %d", p.name, workload[0].URIs[0],
		workload[0].Issuer.CommonName, workload[0].Issuer.Locality, len(workload))
}

// checkIssuedBy checks that chain (leaf first) verifies against the mesh's root and that its leaf is signed by
// the intermediate of p, and by no other cluster's.
func checkIssuedBy(t *testing.T, what string, chain []*x509.Certificate, p *primary, ca *framework.MeshCA, mesh []*primary) {
	g := NewWithT(t)
	g.Expect(chain).NotTo(BeEmpty(), what)
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	g.Expect(roots.AppendCertsFromPEM(ca.RootPEM)).To(BeTrue())
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	g.Expect(err).NotTo(HaveOccurred(), "%s verifies against the mesh's root", what)
	for _, q := range mesh {
		intermediate, err := framework.ParseCertPEM(ca.Secrets[q.name].Data[cacerts.CACertKey])
		g.Expect(err).NotTo(HaveOccurred())
		signed := chain[0].CheckSignatureFrom(intermediate) == nil
		g.Expect(signed).To(Equal(q == p), "%s signed by %s's intermediate", what, q.name)
	}
}

// checkNetworks checks, after the multi-network samples were applied, that Sail finds the Istio's network and its
// namespace's label consistent, that the injector of p's cluster gives
// sidecars p's network, and that p's istiod puts each cluster's endpoint of echo on that cluster's network and
// knows no gateway between the networks.
func checkNetworks(t *testing.T, p, other *primary) {
	g := NewWithT(t)
	p.cluster.WaitCondition(t, &sailv1.Istio{}, "default", sailv1.ConditionNetworkConsistent, "True")
	g.Eventually(func() string { return injectorNetwork(p.cluster) }, waitFor).Should(Equal(p.network),
		"the sidecars of %s are told their network (ISTIO_META_NETWORK)", p.name)
	g.Eventually(func() map[string]string { return p.istiod.NetworksByAddress(echoHost, sampleNS, shardPref+p.name) },
		waitFor).Should(Equal(map[string]string{p.addr: p.network}), "%s's istiod: its own endpoint", p.name)
	g.Eventually(func() map[string]string { return p.istiod.NetworksByAddress(echoHost, sampleNS, shardPref+other.name) },
		waitFor).Should(Equal(map[string]string{other.addr: other.network}), "%s's istiod: %s's endpoint", p.name, other.name)
	gateways := strings.TrimSpace(p.istiod.DebugText("/debug/networkz"))
	g.Expect(gateways).To(BeElementOf("[]", "null"), "no east-west gateway is known")
	shards, _ := p.istiod.EndpointShards(echoHost, sampleNS)
	t.Logf("%s's istiod: endpoint shards of %s: %v; gateways: %s", p.name, echoHost, shards, gateways)
}

// injectorNetwork returns values.global.network of the sidecar injector ConfigMap Sail installed, or why not.
func injectorNetwork(c *framework.Cluster) string {
	list := &corev1.ConfigMapList{}
	if err := c.Client.List(context.Background(), list, client.InNamespace(istioNS)); err != nil {
		return err.Error()
	}
	for _, cm := range list.Items {
		if !strings.HasPrefix(cm.Name, "istio-sidecar-injector") {
			continue
		}
		var values struct {
			Global struct {
				Network string `json:"network"`
			} `json:"global"`
		}
		if err := json.Unmarshal([]byte(cm.Data["values"]), &values); err != nil {
			return cm.Name + ": " + err.Error()
		}
		return values.Global.Network
	}
	return "no istio-sidecar-injector ConfigMap"
}
