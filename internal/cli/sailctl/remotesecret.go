package sailctl

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/mesh/remotesecret"
)

// remoteSecretFlags are the flags of create-remote-secret.
type remoteSecretFlags struct {
	kubeconfig, context string
	typ                 string
	opts                remotesecret.Options
}

// NewCreateRemoteSecretCommand returns the create-remote-secret command.
func NewCreateRemoteSecretCommand() *cobra.Command {
	f := &remoteSecretFlags{}
	cmd := &cobra.Command{
		Use:   "create-remote-secret",
		Short: "Make the Secret that lets another cluster's istiod read this cluster",
		Long: "Make the Secret that lets another cluster's istiod read this cluster (the one --kubeconfig and " +
			"--context point at), and print it for the other cluster.\n\n" +
			"In this cluster it makes sure the ServiceAccount exists (--service-account, created unless " +
			"--create-service-account=false), makes a new token Secret " + remotesecret.TokenSecretPrefix("<sa>") +
			"<random>, waits for its token, and deletes the token Secrets of earlier runs. Each run thus rotates the " +
			"token: the token of an earlier secret stops working at once, so apply the new one right away. The ServiceAccount's rights come from Istio " +
			"installed in this cluster (the istio-reader ClusterRole of Istio's charts); a warning says when it " +
			"cannot list Services yet.\n\n" +
			"--type remote prints istio-remote-secret-<name> (label istio/multiCluster=true) for a primary; " +
			"--type config prints istio-kubeconfig for an external control plane.",
		Example: "  # Let cluster1's istiod discover cluster2\n" +
			"  sailctl create-remote-secret --context cluster2 --name cluster2 | kubectl apply --context cluster1 -f -\n\n" +
			"  # API server behind a DNS name\n" +
			"  sailctl create-remote-secret --context cluster2 --server https://api.cluster2.example.com:6443",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCreateRemoteSecret(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to be read (default: $KUBECONFIG, ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context of the cluster to be read (default: the current one)")
	fl.StringVar(&f.opts.Name, "name", "", "cluster name istiod knows this cluster by (default: the context name)")
	fl.StringVar(&f.opts.Server, "server", "", "API server address in the printed kubeconfig: DNS name or IP, "+
		"with optional port and https:// (default: the kubeconfig's)")
	fl.StringVar(&f.opts.TLSServerName, "tls-server-name", "", "name to check the API server's certificate against")
	fl.StringVar(&f.typ, "type", "remote", "secret type: remote (for a primary) or config (for an external istiod)")
	fl.StringVar(&f.opts.ServiceAccount, "service-account", "", "ServiceAccount whose token the secret holds (default: "+
		remotesecret.ReaderServiceAccount+" for --type remote, "+remotesecret.ConfigServiceAccount+" for --type config)")
	fl.BoolVar(&f.opts.CreateServiceAccount, "create-service-account", true, "create the ServiceAccount if it does not exist")
	fl.StringVarP(&f.opts.Namespace, "namespace", "n", "istio-system", "namespace of the ServiceAccount and of the printed Secret")
	fl.DurationVar(&f.opts.Timeout, "timeout", 30*time.Second, "how long to wait for the token")
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions([]string{"remote", "config"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// runCreateRemoteSecret loads the kubeconfig, makes the secret and prints it as YAML, warnings on stderr.
func runCreateRemoteSecret(cmd *cobra.Command, f *remoteSecretFlags) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.context})
	raw, err := loader.RawConfig()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("reading the kubeconfig: %w", err)}
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("reading the kubeconfig: %w", err)}
	}
	opts := f.opts
	opts.Type = remotesecret.Type(f.typ)
	if opts.Name == "" {
		opts.Name = f.context
		if opts.Name == "" {
			opts.Name = raw.CurrentContext
		}
	}
	if opts.Server == "" {
		opts.Server = cfg.Host
	}
	if err := opts.Complete(); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	res, err := remotesecret.Create(cmd.Context(), cs, opts)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "Warning: %s\n", w)
	}
	out, err := yaml.Marshal(res.Secret)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "# Remote secret of cluster %s (token Secret %s/%s); apply it in the reading cluster\n%s",
		opts.Name, opts.Namespace, res.TokenSecret.Name, out)
	return err
}
