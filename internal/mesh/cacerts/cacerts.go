// Package cacerts generates the certificate authorities clusters of one mesh share trust with: one root CA and,
// per cluster, an intermediate CA signed by it, packed as the cacerts Secret istiod reads in its namespace (keys
// ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem). Keys are ECDSA P-256; certificates come from the
// standard library's crypto/x509. It is for trying multi-cluster meshes: in production, sign the intermediates
// with a CA of one's own (see docs/multicluster.md).
package cacerts

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Default validities.
const (
	RootValidity         = 10 * 365 * 24 * time.Hour
	IntermediateValidity = 2 * 365 * 24 * time.Hour
)

// Keys of the cacerts Secret.
const (
	SecretName   = "cacerts"
	CACertKey    = "ca-cert.pem"
	CAKeyKey     = "ca-key.pem"
	RootCertKey  = "root-cert.pem"
	CertChainKey = "cert-chain.pem"
)

// Authority is a CA: its certificate and private key.
type Authority struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewRoot returns a self-signed root CA for the organization org, valid for validity from now. It may sign
// intermediate CAs, which may sign only leaf certificates (path length 1).
func NewRoot(org string, validity time.Duration) (*Authority, error) {
	tmpl := caTemplate(pkix.Name{Organization: []string{org}, CommonName: "Root CA"}, validity, 1)
	return issue(tmpl, nil)
}

// NewIntermediate returns an intermediate CA for cluster, signed by a and valid for validity from now (never past
// a's own expiry). It may sign leaf certificates only (path length 0), as istiod does for workloads.
func (a *Authority) NewIntermediate(cluster string, validity time.Duration) (*Authority, error) {
	org := a.Cert.Subject.Organization
	tmpl := caTemplate(pkix.Name{Organization: org, CommonName: "Intermediate CA", Locality: []string{cluster}},
		validity, 0)
	if tmpl.NotAfter.After(a.Cert.NotAfter) {
		tmpl.NotAfter = a.Cert.NotAfter
	}
	return issue(tmpl, a)
}

// caTemplate returns a CA certificate template with the given subject, validity and maximum path length.
func caTemplate(subject pkix.Name, validity time.Duration, pathLen int) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		Subject:               subject,
		NotBefore:             now.Add(-5 * time.Minute), // tolerate clock skew between clusters
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
	}
}

// issue makes a key and signs tmpl with parent, or self-signs it when parent is nil.
func issue(tmpl *x509.Certificate, parent *Authority) (*Authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating a serial number: %w", err)
	}
	tmpl.SerialNumber = serial
	signerCert, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		return nil, fmt.Errorf("signing the certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Authority{Cert: cert, Key: key}, nil
}

// CertPEM returns the CA's certificate, PEM-encoded.
func (a *Authority) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Cert.Raw})
}

// KeyPEM returns the CA's private key, PEM-encoded as PKCS #8.
func (a *Authority) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(a.Key)
	if err != nil {
		return nil, fmt.Errorf("encoding the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Files returns the cacerts files of intermediate CA a, signed by root: its certificate and key, the root's
// certificate, and the chain from a to the root.
func (a *Authority) Files(root *Authority) (map[string][]byte, error) {
	key, err := a.KeyPEM()
	if err != nil {
		return nil, err
	}
	chain := append(append([]byte{}, a.CertPEM()...), root.CertPEM()...)
	return map[string][]byte{CACertKey: a.CertPEM(), CAKeyKey: key, RootCertKey: root.CertPEM(), CertChainKey: chain}, nil
}

// Secret returns the cacerts Secret in namespace holding files (as Files returns them), labelled with the cluster.
func Secret(namespace, cluster string, files map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: namespace,
			Annotations: map[string]string{"sailoperator.io/cluster": cluster}},
		Type: corev1.SecretTypeOpaque,
		Data: files,
	}
}

// ParseAuthority reads a CA from its PEM certificate and PEM private key (PKCS #8, PKCS #1 or SEC 1), so that an
// existing root signs the intermediates. It fails when the certificate is not a CA or the key does not match it.
func ParseAuthority(certPEM, keyPEM []byte) (*Authority, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("no PEM CERTIFICATE block in the root certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the root certificate: %w", err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("the root certificate %q is not a CA that may sign certificates", cert.Subject)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("no PEM block in the root key")
	}
	key, err := parseKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("the root key does not belong to the root certificate %q", cert.Subject)
	}
	return &Authority{Cert: cert, Key: key}, nil
}

// parseKey parses a DER private key in PKCS #8, PKCS #1 (RSA) or SEC 1 (EC) form.
func parseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("the root key is not a PKCS #8, PKCS #1 or SEC 1 private key")
}
