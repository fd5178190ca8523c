package cacerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// leafFrom signs a workload-like leaf certificate with ca, as istiod does with the intermediate.
func leafFrom(t *testing.T, ca *Authority) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "workload"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// parsePEMCerts parses every certificate in data.
func parsePEMCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return certs
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
}

func TestIntermediatesChainToTheSharedRoot(t *testing.T) {
	root, err := NewRoot("mesh.example", RootValidity)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	for _, cluster := range []string{"east", "west"} {
		in, err := root.NewIntermediate(cluster, IntermediateValidity)
		if err != nil {
			t.Fatal(err)
		}
		if !in.Cert.IsCA || in.Cert.KeyUsage&x509.KeyUsageCertSign == 0 || !in.Cert.MaxPathLenZero {
			t.Errorf("%s: intermediate IsCA=%v KeyUsage=%b MaxPathLenZero=%v; want a CA that signs leaves only",
				cluster, in.Cert.IsCA, in.Cert.KeyUsage, in.Cert.MaxPathLenZero)
		}
		files, err := in.Files(root)
		if err != nil {
			t.Fatal(err)
		}
		chain := parsePEMCerts(t, files[CertChainKey])
		if len(chain) != 2 || !chain[0].Equal(in.Cert) || !chain[1].Equal(root.Cert) {
			t.Fatalf("%s: cert-chain.pem holds %d certificates; want the intermediate then the root", cluster, len(chain))
		}
		inters := x509.NewCertPool()
		inters.AddCert(parsePEMCerts(t, files[CACertKey])[0])
		leaf := leafFrom(t, in)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s: a leaf signed by the intermediate does not verify against the root: %v", cluster, err)
		}
		// The intermediate's key in ca-key.pem is the one of ca-cert.pem.
		parsed, err := ParseAuthority(files[CACertKey], files[CAKeyKey])
		if err != nil {
			t.Errorf("%s: ca-key.pem does not match ca-cert.pem: %v", cluster, err)
		} else if !parsed.Cert.Equal(in.Cert) {
			t.Errorf("%s: ca-cert.pem is not the intermediate", cluster)
		}
		if s := Secret("istio-system", cluster, files); s.Name != "cacerts" || len(s.Data) != 4 {
			t.Errorf("%s: Secret %s with %d keys; want cacerts with 4", cluster, s.Name, len(s.Data))
		}
	}
}

func TestIntermediateOfAnotherRootDoesNotVerify(t *testing.T) {
	root, _ := NewRoot("a", RootValidity)
	other, _ := NewRoot("b", RootValidity)
	in, err := other.NewIntermediate("x", IntermediateValidity)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	if _, err := in.Cert.Verify(x509.VerifyOptions{Roots: roots}); err == nil {
		t.Fatal("an intermediate of another root verified")
	}
}

func TestIntermediateMaySignNoFurtherCA(t *testing.T) {
	root, _ := NewRoot("a", RootValidity)
	in, _ := root.NewIntermediate("x", IntermediateValidity)
	sub, err := in.NewIntermediate("y", IntermediateValidity) // x509 lets one sign it; verification must refuse
	if err != nil {
		t.Fatal(err)
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root.Cert)
	inters.AddCert(in.Cert)
	inters.AddCert(sub.Cert)
	leaf := leafFrom(t, sub)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
		t.Fatal("a chain through a CA below the intermediate verified; want the path length to stop it")
	}
}

func TestIntermediateNeverOutlivesTheRoot(t *testing.T) {
	root, _ := NewRoot("a", time.Hour)
	in, _ := root.NewIntermediate("x", IntermediateValidity)
	if in.Cert.NotAfter.After(root.Cert.NotAfter) {
		t.Fatalf("intermediate expires %s, after the root (%s)", in.Cert.NotAfter, root.Cert.NotAfter)
	}
}

func TestParseAuthorityRejectsAMismatchedKey(t *testing.T) {
	a, _ := NewRoot("a", RootValidity)
	b, _ := NewRoot("b", RootValidity)
	key, _ := b.KeyPEM()
	if _, err := ParseAuthority(a.CertPEM(), key); err == nil {
		t.Fatal("ParseAuthority accepted the key of another certificate")
	}
}
