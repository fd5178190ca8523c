package framework

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/cli/sailctl"
	"github.com/sail-mesh/sail/internal/mesh/cacerts"
)

// MeshCA is what `sailctl ca create --out` wrote for the clusters of a mesh: the shared root and, by cluster
// name, the cacerts Secret to create in each cluster before Istio is installed there.
type MeshCA struct {
	RootPEM []byte
	Secrets map[string]*corev1.Secret
}

// CreateMeshCA runs `sailctl ca create --clusters <clusters> --out DIR` and reads back what it wrote.
func CreateMeshCA(t *testing.T, clusters ...string) *MeshCA {
	t.Helper()
	g := NewWithT(t)
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	list := clusters[0]
	for _, c := range clusters[1:] {
		list += "," + c
	}
	code := sailctl.Execute([]string{"ca", "create", "--clusters", list, "--out", dir}, nil, &stdout, &stderr)
	g.Expect(code).To(Equal(0), stderr.String())
	root, err := os.ReadFile(filepath.Join(dir, cacerts.RootCertKey))
	g.Expect(err).NotTo(HaveOccurred())
	ca := &MeshCA{RootPEM: root, Secrets: map[string]*corev1.Secret{}}
	for _, c := range clusters {
		data, err := os.ReadFile(filepath.Join(dir, c, "cacerts.yaml"))
		g.Expect(err).NotTo(HaveOccurred())
		s := &corev1.Secret{}
		g.Expect(yaml.UnmarshalStrict(data, s)).To(Succeed(), string(data))
		ca.Secrets[c] = s
	}
	return ca
}

// CreateServiceWithEndpoints creates a Service without selector (HTTP port 80) and an EndpointSlice for it that
// lists addrs (target port 8080), as the endpoints of workloads the cluster runs.
func (c *Cluster) CreateServiceWithEndpoints(t *testing.T, namespace, name string, addrs ...string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	g.Expect(c.Client.Create(ctx, svc)).To(Succeed())
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-manual", Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "sail-e2e"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
	}
	for _, a := range addrs {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{a},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	g.Expect(c.Client.Create(ctx, slice)).To(Succeed())
}

// ShardEndpoint is an endpoint as istiod's /debug/endpointShardz shows it (the fields tests look at).
type ShardEndpoint struct {
	Addresses []string
	Network   string
}

// EndpointShards returns the endpoints istiod holds for a Service (its host name and namespace), by shard: the
// registry and cluster they come from, such as "Kubernetes/cluster-b". It returns an error when the Service has none.
func (in *Istiod) EndpointShards(host, namespace string) (map[string][]ShardEndpoint, error) {
	body, err := in.Debug("/debug/endpointShardz")
	if err != nil {
		return nil, err
	}
	var all map[string]map[string]struct {
		Shards map[string][]ShardEndpoint
	}
	if err := json.Unmarshal([]byte(body), &all); err != nil {
		return nil, fmt.Errorf("endpointShardz: %w", err)
	}
	shards, ok := all[host][namespace]
	if !ok {
		return nil, fmt.Errorf("no endpoint shards for %s in namespace %s", host, namespace)
	}
	return shards.Shards, nil
}

// NetworksByAddress returns, for each endpoint address of a shard, the network istiod gives it (for Eventually).
func (in *Istiod) NetworksByAddress(host, namespace, shard string) map[string]string {
	shards, err := in.EndpointShards(host, namespace)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	out := map[string]string{}
	for _, e := range shards[shard] {
		for _, a := range e.Addresses {
			out[a] = e.Network
		}
	}
	return out
}

// ServingChain returns the certificate chain istiod presents on its secure gRPC port 15012 (the port of its CA
// and of XDS over TLS), leaf first. The chain is not verified here: the caller checks whom it chains to.
func (in *Istiod) ServingChain() ([]*x509.Certificate, error) {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", net.JoinHostPort(in.IP, "15012"),
		&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // verified by the caller against the mesh's root
	if err != nil {
		return nil, fmt.Errorf("TLS to istiod's port 15012: %w", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates, nil
}

// ParseCertPEM parses the first certificate of a PEM block list.
func ParseCertPEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// ConfigMapValue returns one key of a ConfigMap, or the error's text (for Eventually).
func (c *Cluster) ConfigMapValue(namespace, name, key string) string {
	cm := &corev1.ConfigMap{}
	if err := c.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, cm); err != nil {
		return err.Error()
	}
	return cm.Data[key]
}

// SignWorkloadCSR asks istiod's CA, over gRPC on port 15012 (TLS checked against root), to sign a certificate
// for the ServiceAccount namespace/serviceAccount of istiod's cluster, as a sidecar's agent does: a CSR for
// spiffe://cluster.local/ns/<namespace>/sa/<serviceAccount>, authenticated with a token of that ServiceAccount for
// the audience istio-ca. It returns the chain istiod sent, leaf first.
func (c *Cluster) SignWorkloadCSR(ctx context.Context, in *Istiod, root []byte, namespace, serviceAccount string) ([]*x509.Certificate, error) {
	token, err := c.tokenFor(ctx, namespace, serviceAccount, "istio-ca", time.Hour)
	if err != nil {
		return nil, err
	}
	csr, err := workloadCSR("spiffe://cluster.local/ns/" + namespace + "/sa/" + serviceAccount)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		return nil, fmt.Errorf("no root certificate to check istiod's against")
	}
	tlsCfg := &tls.Config{RootCAs: pool, ServerName: "istiod.istio-system.svc"}
	conn, err := grpc.NewClient(net.JoinHostPort(in.IP, "15012"), grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	// IstioCertificateRequest (istio.io/api security/v1alpha1): csr = 1, validity_duration = 3 (seconds).
	req := protowire.AppendTag(nil, 1, protowire.BytesType)
	req = protowire.AppendBytes(req, csr)
	req = protowire.AppendTag(req, 3, protowire.VarintType)
	req = protowire.AppendVarint(req, 3600)
	resp := &rawMessage{}
	if err := conn.Invoke(ctx, "/istio.v1.auth.IstioCertificateService/CreateCertificate", &rawMessage{req}, resp,
		grpc.ForceCodec(rawCodec{})); err != nil {
		return nil, fmt.Errorf("CreateCertificate: %w", err)
	}
	return certChain(resp.data)
}

// workloadCSR returns a PEM certificate request with a new ECDSA key for the URI SAN id.
func workloadCSR(id string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(id)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{u}}, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// certChain decodes an IstioCertificateResponse: cert_chain = 1, repeated PEM strings.
func certChain(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		data = data[n:]
		if num != 1 || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, data)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			data = data[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(data)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		data = data[n:]
		cert, err := ParseCertPEM(v)
		if err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
	return out, nil
}

// rawMessage is a protobuf message already encoded, for rawCodec.
type rawMessage struct{ data []byte }

// rawCodec passes encoded messages through, so that a test can call istiod's CA without its generated stubs.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.(*rawMessage).data, nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	v.(*rawMessage).data = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }
