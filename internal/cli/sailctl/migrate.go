package sailctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sail-mesh/sail/internal/cli/ossm2"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Output formats and validation modes of the migrate command.
const (
	OutputYAML = "yaml"
	OutputJSON = "json"

	ValidateAuto    = "auto"
	ValidateOffline = "offline"
	ValidateCluster = "cluster"
)

// MigrateOptions are the flags of the migrate command.
type MigrateOptions struct {
	// Files are the inputs: files, folders, or "-" for stdin.
	Files []string
	// FromCluster reads the inputs from the cluster instead.
	FromCluster bool
	// Namespace is the control plane namespace to read from the cluster, and the namespace of input objects that
	// have none.
	Namespace string
	// OutputDir, when set, receives one file per generated object instead of stdout.
	OutputDir string
	// Output is the format: yaml (resources on stdout, report on stderr) or json (one document on stdout).
	Output string
	// Validate is empty (no validation), auto, offline or cluster.
	Validate string
	// CRDDir replaces the embedded Sail CRDs for offline validation.
	CRDDir string
	// Version is the Istio version of the generated resources; empty means the newest.
	Version string
	// Platform is openshift or kubernetes.
	Platform string
	// OperatorNamespace is the namespace of the OpenShift Service Mesh 2 operator.
	OperatorNamespace string
	// AllowUnknownFields turns unknown input fields into warnings.
	AllowUnknownFields bool
	// Force writes the resources even when the migration is blocked.
	Force bool
	// Kubeconfig and Context select the cluster.
	Kubeconfig string
	Context    string
}

// NewMigrateOptions returns the defaults of the migrate command.
func NewMigrateOptions() *MigrateOptions {
	return &MigrateOptions{Output: OutputYAML, Platform: ossm2.PlatformOpenShift,
		OperatorNamespace: "openshift-operators"}
}

const migrateLong = `Convert OpenShift Service Mesh 2 resources into Sail resources.

sailctl migrate reads ServiceMeshControlPlanes (maistra.io/v2), ServiceMeshMemberRolls and ServiceMeshMembers
(maistra.io/v1), from files or from the cluster, and writes:
  - an Istio per control plane, named <smcp>-<namespace> and installed in the control plane's namespace (so that
    the root of trust is kept), with the control plane's settings as Helm values,
  - an IstioCNI (required on OpenShift),
  - Namespace label patches for the members (discovery and injection),
  - the Istio and Kubernetes objects that replace what OpenShift Service Mesh 2 did implicitly (a STRICT
    PeerAuthentication when data plane mTLS was on, a Telemetry for tracing, gateway Deployments, Routes).

It reports each input field that was carried over and where it went, each warning (no upstream counterpart,
changed default, action to take elsewhere) and each blocker (Mixer, 3scale adapter, federation, ...), with the
input path. Namespace and networking.istio.io Gateway objects may be added to the input: their labels and hosts
are used to evaluate member selectors and to generate Routes.

Resources go to stdout (the report to stderr), or one file per object to --output-dir (the report to stdout);
--output json writes one JSON document instead. When the migration is blocked or the input is invalid, no
resource is written unless --force is given.

Exit codes: 0 converted cleanly, 1 converted with warnings, 2 blocked, invalid input, or rejected by validation.`

const migrateExample = `  # Convert exported resources (oc get smcp,smmr,smm -A -o yaml > mesh.yaml)
  sailctl migrate -f mesh.yaml

  # Read the control plane of namespace istio-system from the current cluster, write one file per object
  sailctl migrate --from-cluster -n istio-system -o migrated/

  # Validate the result offline against Sail's CRDs, and print everything as JSON
  sailctl migrate -f mesh.yaml --validate=offline --output json

  # Validate with a server-side dry-run against the current cluster (it needs the Sail CRDs)
  sailctl migrate -f mesh.yaml --validate=cluster

  # Read from stdin, target a given Istio version
  oc get smcp -n istio-system basic -o yaml | sailctl migrate -f - --version v1.30.0`

// NewMigrateCommand returns the migrate command.
func NewMigrateCommand() *cobra.Command {
	o := NewMigrateOptions()
	cmd := &cobra.Command{
		Use:     "migrate (-f FILE|DIR|- ... | --from-cluster)",
		Short:   "Convert OpenShift Service Mesh 2 resources into Sail resources",
		Long:    migrateLong,
		Example: migrateExample,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			if contains([]string{ValidateAuto, ValidateOffline, ValidateCluster}, args[0]) {
				return fmt.Errorf("unexpected argument %q: write --validate=%s (with =)", args[0], args[0])
			}
			return fmt.Errorf("unexpected argument %q: give input files with -f", args[0])
		},
		PreRunE: func(*cobra.Command, []string) error {
			if err := o.Check(); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.Run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.addFlags(cmd)
	registerMigrateCompletions(cmd)
	return cmd
}

// addFlags defines the flags of the migrate command.
func (o *MigrateOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVarP(&o.Files, "filename", "f", nil, "input file, folder (its .yaml, .yml and .json files) or - "+
		"for stdin; repeat or separate with commas")
	f.BoolVar(&o.FromCluster, "from-cluster", false, "read the resources from the cluster of the kubeconfig")
	f.StringVarP(&o.Namespace, "namespace", "n", "", "with --from-cluster, convert only the control plane of this "+
		"namespace; with -f, the namespace of input objects that have none")
	f.StringVarP(&o.OutputDir, "output-dir", "o", "", "write one file per generated object to this folder "+
		"(created if missing), named so that they sort in the order to apply them")
	f.StringVar(&o.Output, "output", o.Output, "format: yaml (resources on stdout, report on stderr) or json (one "+
		"document with resources and report)")
	f.StringVar(&o.Validate, "validate", "", "validate the generated resources: offline (Sail's CRD schemas), "+
		"cluster (server-side dry-run with strict field validation) or auto (cluster when a kubeconfig is found, "+
		"else offline); --validate alone means auto")
	f.Lookup("validate").NoOptDefVal = ValidateAuto
	f.StringVar(&o.CRDDir, "crd-dir", "", "folder of Sail CRD files (e.g. config/crd/bases) to validate against "+
		"offline, instead of the CRDs embedded in sailctl")
	f.StringVar(&o.Version, "version", "", "Istio version (or alias) of the generated Istio and IstioCNI; "+
		"default: the newest supported (see sailctl versions). Setting it acknowledges the version jump")
	f.StringVar(&o.Platform, "platform", o.Platform, "platform of the target cluster: openshift or kubernetes")
	f.StringVar(&o.OperatorNamespace, "operator-namespace", o.OperatorNamespace, "namespace of the OpenShift "+
		"Service Mesh 2 operator (never a mesh member)")
	f.BoolVar(&o.AllowUnknownFields, "allow-unknown-fields", false, "report unknown input fields as warnings "+
		"instead of errors, and convert without them")
	f.BoolVar(&o.Force, "force", false, "write the generated resources even when the migration is blocked or the "+
		"input is partly invalid")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "path of the kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.Context, "context", "", "kubeconfig context to use")
}

// registerMigrateCompletions registers the shell completions of the migrate command's flags.
func registerMigrateCompletions(cmd *cobra.Command) {
	for flag, values := range map[string][]string{
		"output":   {OutputYAML, OutputJSON},
		"validate": {ValidateAuto, ValidateOffline, ValidateCluster},
		"platform": {ossm2.PlatformOpenShift, ossm2.PlatformKubernetes},
		"version":  versions.Default().Names(),
	} {
		_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
	}
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	_ = cmd.MarkFlagDirname("output-dir")
	_ = cmd.MarkFlagDirname("crd-dir")
	_ = cmd.MarkFlagFilename("kubeconfig")
}

// Check checks the flags.
func (o *MigrateOptions) Check() error {
	switch {
	case len(o.Files) == 0 && !o.FromCluster:
		return errors.New("give the input with -f FILE (a file, a folder or - for stdin) or --from-cluster")
	case len(o.Files) > 0 && o.FromCluster:
		return errors.New("-f and --from-cluster cannot be used together: choose one input")
	}
	stdin := 0
	for _, f := range o.Files {
		if f == "" {
			return errors.New("-f was given an empty file name")
		}
		if f == ossm2.StdinName {
			stdin++
		}
	}
	if stdin > 1 {
		return errors.New("-f - (stdin) can be given only once")
	}
	if o.Output != OutputYAML && o.Output != OutputJSON {
		return fmt.Errorf("--output must be yaml or json, not %q (to write files, use --output-dir/-o)", o.Output)
	}
	switch o.Validate {
	case "", ValidateAuto, ValidateOffline, ValidateCluster:
	default:
		return fmt.Errorf("--validate must be auto, offline or cluster, not %q", o.Validate)
	}
	if o.CRDDir != "" && o.Validate == "" {
		return errors.New("--crd-dir is only used with --validate")
	}
	if o.Platform != ossm2.PlatformOpenShift && o.Platform != ossm2.PlatformKubernetes {
		return fmt.Errorf("--platform must be %s or %s, not %q", ossm2.PlatformOpenShift,
			ossm2.PlatformKubernetes, o.Platform)
	}
	if o.Version != "" {
		if _, err := versions.Default().Resolve(o.Version); err != nil {
			return fmt.Errorf("--version: %w", err)
		}
	}
	return nil
}

// restConfig loads the kubeconfig; notFound is true when there is none at all.
func (o *MigrateOptions) restConfig() (cfg *rest.Config, notFound bool, err error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: o.Context})
	cfg, err = cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, true, errors.New("no kubeconfig found: set KUBECONFIG or pass --kubeconfig")
		}
		return nil, false, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "sailctl"
	return cfg, false, nil
}

// Run converts, validates and writes the result; it returns an ExitError carrying the exit code when it is not 0.
func (o *MigrateOptions) Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var docs []ossm2.Document
	var readFindings []ossm2.Finding
	if o.FromCluster {
		cfg, _, err := o.restConfig()
		if err != nil {
			return &ExitError{Code: ossm2.ExitBlocked, Err: err}
		}
		if docs, err = ossm2.ReadCluster(ctx, cfg, o.Namespace); err != nil {
			return &ExitError{Code: ossm2.ExitBlocked, Err: err}
		}
	} else {
		docs, readFindings = ossm2.ReadFiles(o.Files, stdin)
	}
	res := ossm2.Convert(docs, ossm2.Options{
		Version: o.Version, Platform: o.Platform, DefaultNamespace: o.Namespace,
		OperatorNamespace: o.OperatorNamespace, AllowUnknownFields: o.AllowUnknownFields,
	})
	res.Report.Findings = append(readFindings, res.Report.Findings...)
	if o.Validate != "" && len(res.Objects) > 0 {
		v, err := o.validate(ctx, res)
		if err != nil {
			return &ExitError{Code: ossm2.ExitBlocked, Err: err}
		}
		res.Report.Validation = v
	}
	return o.write(res, stdout, stderr)
}

// validate runs the requested validation. In cluster mode, objects whose kind the cluster does not serve are
// validated offline where a schema is available.
func (o *MigrateOptions) validate(ctx context.Context, res *ossm2.Result) (*ossm2.ValidationReport, error) {
	mode, cfg, err := o.validationMode()
	if err != nil {
		return nil, err
	}
	set, err := ossm2.LoadSchemas(ossm2.OfflineOptions{CRDDir: o.CRDDir, IstioVersion: o.targetVersion()})
	if err != nil {
		return nil, fmt.Errorf("loading the CRD schemas: %w", err)
	}
	if mode == ValidateOffline {
		return ossm2.ValidateOffline(res.Objects, set), nil
	}
	rep, err := ossm2.ValidateCluster(ctx, cfg, res.Objects)
	if err != nil {
		return nil, err
	}
	ossm2.ValidateOfflineWhereSkipped(rep, res.Objects, set)
	return rep, nil
}

// targetVersion is the resolved Istio version the resources are generated for.
func (o *MigrateOptions) targetVersion() string {
	target := o.Version
	if target == "" {
		target = versions.Default().Newest().Name
	}
	if v, err := versions.Default().Resolve(target); err == nil {
		target = v.Name
	}
	return target
}

// validationMode resolves --validate to offline or cluster (with the cluster's configuration): auto means cluster
// when a kubeconfig is found.
func (o *MigrateOptions) validationMode() (string, *rest.Config, error) {
	if o.Validate != ValidateAuto && o.Validate != ValidateCluster {
		return o.Validate, nil, nil
	}
	cfg, notFound, err := o.restConfig()
	switch {
	case err == nil:
		return ValidateCluster, cfg, nil
	case notFound && o.Validate == ValidateAuto:
		return ValidateOffline, nil, nil
	default:
		return "", nil, fmt.Errorf("--validate=%s: %w (or use --validate=offline)", o.Validate, err)
	}
}

// withheldMsg is written after the report when the resources are withheld.
const withheldMsg = "No resources were written: fix the errors and blockers above (or pass --force to write " +
	"them anyway).\n"

// write writes the resources and the report where the options say, and returns the exit code as an error.
func (o *MigrateOptions) write(res *ossm2.Result, stdout, stderr io.Writer) error {
	withhold := res.Report.Blocked() && !o.Force
	var files []string
	if o.OutputDir != "" && !withhold && len(res.Objects) > 0 {
		var err error
		if files, err = res.WriteDir(o.OutputDir); err != nil {
			return &ExitError{Code: ossm2.ExitBlocked, Err: err}
		}
	}
	if o.Output == OutputJSON {
		var resources []map[string]any
		if o.OutputDir == "" && !withhold {
			resources = res.Resources()
		}
		if err := res.Report.WriteJSON(stdout, resources, files); err != nil {
			return err
		}
		return exitError(res.Report.ExitCode())
	}
	return o.writeText(res, withhold, files, stdout, stderr)
}

// writeText writes the resources as YAML to stdout (unless they went to files or are withheld) and the report for
// people: to stderr, or to stdout when the resources went to files.
func (o *MigrateOptions) writeText(res *ossm2.Result, withhold bool, files []string, stdout, stderr io.Writer) error {
	reportOut := stderr
	if o.OutputDir != "" {
		reportOut = stdout
	} else if !withhold {
		data, err := res.YAML()
		if err != nil {
			return &ExitError{Code: ossm2.ExitBlocked, Err: err}
		}
		if _, err := stdout.Write(data); err != nil {
			return err
		}
	}
	if err := res.Report.WriteText(reportOut); err != nil {
		return err
	}
	switch {
	case withhold:
		fmt.Fprint(reportOut, withheldMsg)
	case len(files) > 0:
		fmt.Fprintf(reportOut, "Wrote %d files to %s: apply them in name order (kubectl apply -f %s).\n",
			len(files), o.OutputDir, strings.TrimSuffix(o.OutputDir, "/"))
	}
	return exitError(res.Report.ExitCode())
}

func exitError(code int) error {
	if code == 0 {
		return nil
	}
	return &ExitError{Code: code}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
