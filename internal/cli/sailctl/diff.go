package sailctl

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/cli/preview"
)

// ExitDiffers is diff's exit code when applying the input would change the cluster.
const ExitDiffers = 1

const diffLong = `Diff shows what applying the Sail resources of the input files would change in the cluster: the
resources themselves, the IstioRevision an Istio creates, the objects the operator's controllers would apply
(created or changed) and the objects they would prune (listed in the live resource's status.inventory but no
longer rendered).

Each object is rendered like 'sailctl render' does, prepared with the live owner's UID, and sent as a
server-side apply dry-run (nothing is written) under the operator's field manager (sail-operator; the input
resources under sailctl). The result is compared with the live object, without managedFields, resourceVersion,
generation, uid, creationTimestamp and status, and printed as a unified diff.

Exit codes, like kubectl diff: 0 when nothing would change, 1 when something would, 2 or more on errors (invalid
input, a missing namespace, an unreachable cluster).`

const diffExample = `  # What would applying this Istio change?
  sailctl diff -f istio.yaml

  # Against another cluster, at another version
  sailctl diff -f istio.yaml -f istiocni.yaml --context prod --version v1.31.0

  # In a script: apply only when something changes
  sailctl diff -f istio.yaml >changes.diff; [ $? -eq 1 ] && kubectl apply -f istio.yaml`

// DiffOptions are the flags of the diff command.
type DiffOptions struct {
	PlanOptions
	// Kubeconfig and Context select the cluster.
	Kubeconfig, Context string
}

// NewDiffCommand returns the diff command.
func NewDiffCommand() *cobra.Command {
	o := &DiffOptions{}
	cmd := &cobra.Command{
		Use:     "diff -f FILE ...",
		Short:   "Show what applying Sail resources would create, change and prune in the cluster",
		Long:    diffLong,
		Example: diffExample,
		Args:    cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if err := o.check(); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.Run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "path of the kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.Context, "context", "", "kubeconfig context to use")
	_ = cmd.MarkFlagFilename("kubeconfig")
	return cmd
}

// Run prints the differences; it returns an ExitError with ExitDiffers when there are some.
func (o *DiffOptions) Run(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	p, groups, err := o.plan(stdin)
	if err != nil {
		return err
	}
	cfg, err := o.restConfig()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	c, err := client.New(cfg, client.Options{Scheme: p.Scheme()})
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("connecting to the cluster: %w", err)}
	}
	diffs, err := (&preview.Differ{Client: c}).Diff(ctx, groups)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if printDiffs(stdout, diffs) {
		return &ExitError{Code: ExitDiffers}
	}
	return nil
}

func (o *DiffOptions) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, fmt.Errorf("no kubeconfig found: set KUBECONFIG or pass --kubeconfig")
		}
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "sailctl"
	return cfg, nil
}

// printDiffs prints the diffs of the objects that would change and a summary; it tells whether any would.
func printDiffs(w io.Writer, diffs []preview.ObjectDiff) bool {
	count := map[preview.Action]int{}
	for _, d := range diffs {
		count[d.Action]++
		if d.Action == preview.Unchanged {
			continue
		}
		where := d.Name
		if d.Namespace != "" {
			where = d.Namespace + "/" + d.Name
		}
		fmt.Fprintf(w, "# %s %s %s (%s)\n", d.Action, d.Kind, where, byText(d))
		fmt.Fprint(w, d.Unified)
	}
	fmt.Fprintf(w, "# %d to create, %d to change, %d to prune, %d unchanged\n", count[preview.Create],
		count[preview.Change], count[preview.Prune], count[preview.Unchanged])
	return len(diffs) > count[preview.Unchanged]
}

func byText(d preview.ObjectDiff) string {
	if d.By == "the input" {
		return "from the input"
	}
	if d.Action == preview.Prune {
		return "pruned by " + d.By
	}
	return "applied by " + d.By
}
