package sailctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/cli/precheck"
	"github.com/sail-mesh/sail/internal/operator"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// PrecheckOptions are the flags of the precheck command.
type PrecheckOptions struct {
	// Version is the Istio version to install or upgrade to; it replaces spec.version of every resource.
	Version string
	// Files hold the Istio, IstioCNI and ZTunnel resources to apply ("-" for stdin); none means the cluster's.
	Files []string
	// Kubeconfig and Context select the cluster.
	Kubeconfig string
	Context    string
	// Output is table (default) or json.
	Output string
}

// OutputTable prints findings as a table.
const OutputTable = "table"

const precheckLong = `Check a cluster before installing or upgrading Istio with Sail.

sailctl precheck looks at the cluster of the kubeconfig and at the change to make: the Istio, IstioCNI and
ZTunnel resources of the files given with -f, or the cluster's own with --version as their new version. It reports:
  - kubernetes-version: the cluster's Kubernetes version against the target Istio's minimum,
  - permissions: whether you may create and change Sail's resources (SelfSubjectAccessReview),
  - gateway-api: installed Gateway API CRDs older than the release the target Istio is built against,
  - revisions: whether the operator would refuse the change in place (UpgradeRefused, DowngradeRefused), and
    which IstioRevisions it would create, move and retire,
  - workloads: which workloads spec.updateStrategy.updateWorkloads would restart,
  - version-skew: IstioCNI and ZTunnel against the control planes they serve (VersionSkew).

Each finding has a severity (info, warning, error) and says what to do. Nothing in the cluster is changed.
With -o json the findings are printed as {"findings": [{"severity", "check", "message"}...], "worst": ...}.

Exit codes: 0 no finding above info, 1 warnings, 2 errors (the change would fail or be refused) or a wrong command
line.`

const precheckExample = `  # Check an upgrade of every Istio, IstioCNI and ZTunnel in the cluster to v1.31.0
  sailctl precheck --version v1.31.0

  # Check the resources of a file before applying them
  sailctl precheck -f istio.yaml

  # Against another context
  sailctl precheck --context staging -f istio.yaml`

// NewPrecheckCommand returns the precheck command.
func NewPrecheckCommand() *cobra.Command {
	o := &PrecheckOptions{}
	cmd := &cobra.Command{
		Use:     "precheck [--version V] [-f FILE ...]",
		Short:   "Check a cluster before installing or upgrading Istio with Sail",
		Long:    precheckLong,
		Example: precheckExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.Run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Version, "version", "", "Istio version to install or upgrade to (default: the resources' own, else the newest)")
	f.StringArrayVarP(&o.Files, "filename", "f", nil, "file with Istio, IstioCNI and ZTunnel resources, or - for stdin")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "path of the kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.Context, "context", "", "kubeconfig context to use")
	f.StringVarP(&o.Output, "output", "o", OutputTable, "format: table or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{OutputTable, OutputJSON}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	_ = cmd.MarkFlagFilename("kubeconfig")
	_ = cmd.RegisterFlagCompletionFunc("version", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return versions.Default().Names(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// Run runs the checks and prints the findings; it returns an ExitError when the worst is a warning or an error.
func (o *PrecheckOptions) Run(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.Output == "" {
		o.Output = OutputTable
	}
	if o.Output != OutputTable && o.Output != OutputJSON {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("-o %q: use table or json", o.Output)}
	}
	in, err := o.input(ctx, stdin)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	findings := precheck.Run(ctx, in)
	if o.Output == OutputJSON {
		if err := printFindingsJSON(stdout, findings); err != nil {
			return err
		}
	} else {
		printFindings(stdout, findings)
	}
	switch precheck.Worst(findings) {
	case precheck.Error:
		return &ExitError{Code: 2}
	case precheck.Warning:
		return &ExitError{Code: 1}
	}
	return nil
}

func printFindings(w io.Writer, findings []precheck.Finding) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tCHECK\tMESSAGE")
	for _, f := range findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Severity, f.Check, f.Message)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nWorst finding: %s\n", precheck.Worst(findings))
}

// findingJSON is a finding as -o json prints it.
type findingJSON struct {
	Severity string `json:"severity"`
	Check    string `json:"check"`
	Message  string `json:"message"`
}

// printFindingsJSON prints the findings and the worst severity as one JSON object.
func printFindingsJSON(w io.Writer, findings []precheck.Finding) error {
	out := struct {
		Findings []findingJSON `json:"findings"`
		Worst    string        `json:"worst"`
	}{Findings: []findingJSON{}, Worst: precheck.Worst(findings).String()}
	for _, f := range findings {
		out.Findings = append(out.Findings, findingJSON{Severity: f.Severity.String(), Check: f.Check, Message: f.Message})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// input connects to the cluster and gathers the resources to check.
func (o *PrecheckOptions) input(ctx context.Context, stdin io.Reader) (precheck.Input, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: o.Context}).ClientConfig()
	if err != nil {
		return precheck.Input{}, fmt.Errorf("loading the kubeconfig: %w (set KUBECONFIG or pass --kubeconfig)", err)
	}
	cfg.UserAgent = "sailctl"
	in := precheck.Input{Versions: versions.Default()}
	if in.Client, err = client.New(cfg, client.Options{Scheme: operator.NewScheme()}); err != nil {
		return in, fmt.Errorf("connecting to the cluster: %w", err)
	}
	if in.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return in, fmt.Errorf("connecting to the cluster: %w", err)
	}
	if len(o.Files) > 0 {
		err = o.readFiles(stdin, &in)
	} else {
		err = o.readCluster(ctx, &in)
	}
	if err != nil {
		return in, err
	}
	return in, o.target(&in)
}

// target resolves the target version: --version, else the first Istio's, else the newest; --version replaces
// every resource's spec.version.
func (o *PrecheckOptions) target(in *precheck.Input) error {
	name := o.Version
	if name == "" && len(in.Istios) > 0 {
		name = in.Istios[0].Spec.Version
	}
	if name == "" {
		name = in.Versions.Newest().Name
	}
	v, err := in.Versions.Resolve(name)
	if err != nil {
		return fmt.Errorf("--version: %w", err)
	}
	in.Target = v
	if o.Version != "" {
		for i := range in.Istios {
			in.Istios[i].Spec.Version = v.Name
		}
		if in.CNI != nil {
			in.CNI.Spec.Version = v.Name
		}
		if in.ZTunnel != nil {
			in.ZTunnel.Spec.Version = v.Name
		}
	}
	return nil
}

// readCluster takes the cluster's Istios, IstioCNI and ZTunnel as the resources to change.
func (o *PrecheckOptions) readCluster(ctx context.Context, in *precheck.Input) error {
	list := &sailv1.IstioList{}
	if err := in.Client.List(ctx, list); err != nil {
		return fmt.Errorf("listing Istios (are Sail's CRDs installed?): %w", err)
	}
	in.Istios = list.Items
	cni, zt := &sailv1.IstioCNI{}, &sailv1.ZTunnel{}
	if err := getOptional(ctx, in.Client, sailv1.IstioCNIName, cni); err != nil {
		return err
	} else if cni.Name != "" {
		in.CNI = cni
	}
	if err := getOptional(ctx, in.Client, sailv1.ZTunnelName, zt); err != nil {
		return err
	} else if zt.Name != "" {
		in.ZTunnel = zt
	}
	return nil
}

func getOptional(ctx context.Context, c client.Client, name string, obj client.Object) error {
	if err := c.Get(ctx, client.ObjectKey{Name: name}, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading %T %s: %w", obj, name, err)
	}
	return nil
}

// readFiles decodes the Istio, IstioCNI and ZTunnel documents of the files; other kinds are ignored.
func (o *PrecheckOptions) readFiles(stdin io.Reader, in *precheck.Input) error {
	for _, path := range o.Files {
		data, err := readInput(path, stdin)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for doc := 1; ; doc++ {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("%s: document %d: %w", path, doc, err)
			}
			if err := addResource(in, u); err != nil {
				return fmt.Errorf("%s: document %d (%s %s): %w", path, doc, u.GetKind(), u.GetName(), err)
			}
		}
	}
	return nil
}

func readInput(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}

func addResource(in *precheck.Input, u *unstructured.Unstructured) error {
	if len(u.Object) == 0 || u.GroupVersionKind().Group != sailv1.GroupVersion.Group {
		return nil
	}
	conv := runtime.DefaultUnstructuredConverter
	switch u.GetKind() {
	case sailv1.IstioKind:
		istio := sailv1.Istio{}
		if err := conv.FromUnstructuredWithValidation(u.Object, &istio, true); err != nil {
			return err
		}
		in.Istios = append(in.Istios, istio)
	case sailv1.IstioCNIKind:
		in.CNI = &sailv1.IstioCNI{}
		return conv.FromUnstructuredWithValidation(u.Object, in.CNI, true)
	case sailv1.ZTunnelKind:
		in.ZTunnel = &sailv1.ZTunnel{}
		return conv.FromUnstructuredWithValidation(u.Object, in.ZTunnel, true)
	}
	return nil
}
