package sailctl

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/mesh/cacerts"
)

// caFlags are the flags of ca create.
type caFlags struct {
	clusters          []string
	out, namespace    string
	org               string
	rootCert, rootKey string
	rootValidity      time.Duration
	validity          time.Duration
}

// NewCACommand returns the ca command and its create subcommand.
func NewCACommand() *cobra.Command {
	ca := &cobra.Command{
		Use:   "ca",
		Short: "Certificate authorities for a mesh across clusters",
		Long: "Certificate authorities for a mesh across clusters: create generates a shared root and an " +
			"intermediate CA per cluster, as the cacerts Secret istiod reads.",
		Example: "  sailctl ca create --clusters cluster1,cluster2 --out certs",
		Args:    cobra.NoArgs,
	}
	ca.AddCommand(newCACreateCommand())
	return ca
}

// newCACreateCommand returns the ca create command.
func newCACreateCommand() *cobra.Command {
	f := &caFlags{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Generate a root CA and an intermediate CA per cluster, as the cacerts Secrets istiod reads",
		Long: "Generate one root CA and, for each cluster of --clusters, an intermediate CA signed by it, so that " +
			"the clusters' istiods issue workload certificates that the other clusters trust. Each intermediate " +
			"is printed as the Secret cacerts (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) to " +
			"create in its cluster before installing Istio there.\n\n" +
			"With --out, the files are written to DIR/<cluster>/ (with cacerts.yaml) and the root to DIR/root-cert.pem " +
			"and DIR/root-key.pem (keep that key safe, or delete it); without --out the Secrets are printed and the " +
			"root key is not kept. In production, sign the intermediates with your own root (--root-cert, --root-key) " +
			"or your own PKI: see docs/multicluster.md.",
		Example: "  sailctl ca create --clusters cluster1,cluster2 --out certs\n" +
			"  kubectl --context cluster1 apply -f certs/cluster1/cacerts.yaml",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCACreate(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.clusters, "clusters", nil, "names of the clusters, comma-separated (required)")
	fl.StringVar(&f.out, "out", "", "directory to write the files to (default: print the Secrets as YAML)")
	fl.StringVarP(&f.namespace, "namespace", "n", "istio-system", "namespace of the cacerts Secrets (istiod's)")
	fl.StringVar(&f.org, "org", "Sail mesh", "organization in the certificates' subjects")
	fl.StringVar(&f.rootCert, "root-cert", "", "PEM certificate of an existing root CA to sign with (with --root-key)")
	fl.StringVar(&f.rootKey, "root-key", "", "PEM private key of the root CA of --root-cert")
	fl.DurationVar(&f.rootValidity, "root-validity", cacerts.RootValidity, "validity of a generated root CA")
	fl.DurationVar(&f.validity, "validity", cacerts.IntermediateValidity, "validity of the intermediate CAs")
	_ = cmd.MarkFlagRequired("clusters")
	return cmd
}

// runCACreate checks the flags, gets the root, and prints or writes one cacerts per cluster.
func runCACreate(cmd *cobra.Command, f *caFlags) error {
	if err := f.check(); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	root, generated, err := f.root()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if f.out != "" && generated {
		if err := writeRoot(f.out, root); err != nil {
			return err
		}
	}
	var stream bytes.Buffer
	for _, cluster := range f.clusters {
		in, err := root.NewIntermediate(cluster, f.validity)
		if err != nil {
			return err
		}
		files, err := in.Files(root)
		if err != nil {
			return err
		}
		doc, err := yaml.Marshal(cacerts.Secret(f.namespace, cluster, files))
		if err != nil {
			return err
		}
		if f.out == "" {
			fmt.Fprintf(&stream, "---\n# cacerts of cluster %s: create it in that cluster\n%s", cluster, doc)
			continue
		}
		if err := writeCluster(filepath.Join(f.out, cluster), files, doc); err != nil {
			return err
		}
		fmt.Fprintf(&stream, "%s: %s\n", cluster, filepath.Join(f.out, cluster, "cacerts.yaml"))
	}
	_, err = cmd.OutOrStdout().Write(stream.Bytes())
	return err
}

// check validates the cluster names and the root flags.
func (f *caFlags) check() error {
	seen := map[string]bool{}
	for _, c := range f.clusters {
		if errs := validation.IsDNS1123Label(c); len(errs) > 0 {
			return fmt.Errorf("--clusters: %q is not a DNS-1123 label: %s", c, strings.Join(errs, "; "))
		}
		if seen[c] {
			return fmt.Errorf("--clusters: %q is listed twice", c)
		}
		seen[c] = true
	}
	if len(f.clusters) == 0 {
		return fmt.Errorf("--clusters: name at least one cluster")
	}
	if (f.rootCert == "") != (f.rootKey == "") {
		return fmt.Errorf("--root-cert and --root-key go together")
	}
	return nil
}

// root returns the root CA of --root-cert/--root-key, or a new one (generated true).
func (f *caFlags) root() (root *cacerts.Authority, generated bool, err error) {
	if f.rootCert == "" {
		root, err = cacerts.NewRoot(f.org, f.rootValidity)
		return root, true, err
	}
	certPEM, err := os.ReadFile(f.rootCert)
	if err != nil {
		return nil, false, err
	}
	keyPEM, err := os.ReadFile(f.rootKey)
	if err != nil {
		return nil, false, err
	}
	root, err = cacerts.ParseAuthority(certPEM, keyPEM)
	return root, false, err
}

// writeRoot writes the root's certificate and key to dir.
func writeRoot(dir string, root *cacerts.Authority) error {
	key, err := root.KeyPEM()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "root-cert.pem"), root.CertPEM(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "root-key.pem"), key, 0o600)
}

// writeCluster writes a cluster's cacerts files and Secret manifest to dir.
func writeCluster(dir string, files map[string][]byte, secret []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files = map[string][]byte{"cacerts.yaml": secret, cacerts.CACertKey: files[cacerts.CACertKey],
		cacerts.CAKeyKey: files[cacerts.CAKeyKey], cacerts.RootCertKey: files[cacerts.RootCertKey],
		cacerts.CertChainKey: files[cacerts.CertChainKey]}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}
