package sailctl

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/mesh/cacerts"
)

// runSailctl runs sailctl with args and returns its exit code, stdout and stderr.
func runSailctl(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Execute(args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCACreate_PrintsOneCacertsPerClusterOfOneRoot(t *testing.T) {
	code, out, stderr := runSailctl("ca", "create", "--clusters", "east,west")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	docs := strings.Split(strings.TrimPrefix(out, "---\n"), "---\n")
	if len(docs) != 2 {
		t.Fatalf("%d documents; want 2:\n%s", len(docs), out)
	}
	var roots [][]byte
	for i, doc := range docs {
		s := &corev1.Secret{}
		if err := yaml.UnmarshalStrict([]byte(doc), s); err != nil {
			t.Fatal(err)
		}
		if s.Name != "cacerts" || s.Namespace != "istio-system" || len(s.Data) != 4 {
			t.Errorf("document %d: Secret %s/%s with %d keys; want istio-system/cacerts with 4", i, s.Namespace, s.Name, len(s.Data))
		}
		roots = append(roots, s.Data[cacerts.RootCertKey])
	}
	if !bytes.Equal(roots[0], roots[1]) {
		t.Error("the clusters have different roots")
	}
}

func TestCACreate_OutWritesFilesAndReusesTheRoot(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runSailctl("ca", "create", "--clusters", "east", "--out", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{"root-cert.pem", "root-key.pem", "east/ca-cert.pem", "east/ca-key.pem",
		"east/root-cert.pem", "east/cert-chain.pem", "east/cacerts.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	// A cluster added later with the same root chains to it.
	code, _, stderr := runSailctl("ca", "create", "--clusters", "north", "--out", dir,
		"--root-cert", filepath.Join(dir, "root-cert.pem"), "--root-key", filepath.Join(dir, "root-key.pem"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rootPEM, _ := os.ReadFile(filepath.Join(dir, "root-cert.pem"))
	inPEM, _ := os.ReadFile(filepath.Join(dir, "north", "ca-cert.pem"))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	b, _ := pem.Decode(inPEM)
	in, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Verify(x509.VerifyOptions{Roots: roots}); err != nil {
		t.Errorf("north's intermediate does not chain to the root of --root-cert: %v", err)
	}
}

func TestCACreate_RejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--clusters", "East"},
		{"--clusters", "a,a"},
		{"--clusters", "a", "--root-cert", "x.pem"},
	} {
		code, _, stderr := runSailctl(append([]string{"ca", "create"}, args...)...)
		if code != ExitUsage || !strings.Contains(stderr, "--") {
			t.Errorf("%v: exit %d, %q; want %d and an error naming the flag", args, code, stderr, ExitUsage)
		}
	}
}
