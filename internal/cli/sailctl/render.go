package sailctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/cli/preview"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// PlanOptions are the flags render and diff share.
type PlanOptions struct {
	// Files are the input files; - is stdin.
	Files []string
	// Version replaces spec.version of every resource.
	Version string
	// Platform is kubernetes or openshift.
	Platform string
}

func (o *PlanOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVarP(&o.Files, "filename", "f", nil, "file of Sail resources (multi-document YAML or JSON), or - "+
		"for stdin; repeat or separate with commas")
	f.StringVar(&o.Version, "version", "", "Istio version (or alias) replacing spec.version of every resource "+
		"(see sailctl versions)")
	f.StringVar(&o.Platform, "platform", string(values.PlatformKubernetes), "platform of the target cluster: "+
		"kubernetes or openshift (the operator detects it; sailctl cannot)")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	_ = cmd.RegisterFlagCompletionFunc("version", cobra.FixedCompletions(versions.Default().Names(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("platform", cobra.FixedCompletions([]string{string(values.PlatformKubernetes),
		string(values.PlatformOpenShift)}, cobra.ShellCompDirectiveNoFileComp))
}

func (o *PlanOptions) check() error {
	if len(o.Files) == 0 {
		return errors.New("give the Sail resources with -f FILE (or -f - for stdin)")
	}
	if o.Platform != string(values.PlatformKubernetes) && o.Platform != string(values.PlatformOpenShift) {
		return fmt.Errorf("--platform must be kubernetes or openshift, not %q", o.Platform)
	}
	if o.Version != "" {
		if _, err := versions.Default().Resolve(o.Version); err != nil {
			return fmt.Errorf("--version: %w", err)
		}
	}
	return nil
}

// plan reads the input and computes its groups (objects not yet prepared).
func (o *PlanOptions) plan(stdin io.Reader) (*preview.Planner, []preview.Group, error) {
	res, err := preview.Read(o.Files, stdin)
	if err != nil {
		return nil, nil, &ExitError{Code: ExitUsage, Err: err}
	}
	p := preview.NewPlanner(values.Platform(o.Platform))
	groups, err := p.Plan(res, preview.Options{Version: o.Version})
	if err != nil {
		return nil, nil, &ExitError{Code: ExitUsage, Err: err}
	}
	return p, groups, nil
}

const renderLong = `Render prints the objects the Sail operator would apply for the Sail resources of the input files,
without a cluster: for an Istio the IstioRevision the Istio controller creates, and for every IstioRevision,
IstioCNI, ZTunnel and IstioRevisionTag the chart objects its controller applies. It runs the operator's own code
(the Istio controller's revision spec, the controllers' Render functions and the applier's preparation), so the
objects carry the labels, annotations and owner references the operator sets.

Offline, owner references have no uid (the API server assigns it), which also changes the
sailoperator.io/applied-hash annotation; an IstioRevisionTag or ZTunnel whose targetRef names an Istio or
IstioRevision needs it in the input. The input is checked against Sail's CRD schemas and defaulted like the API
server does.`

const renderExample = `  # What would the operator apply for this Istio?
  sailctl render -f config/samples/istio.yaml

  # The same at another version, on OpenShift, as JSON
  sailctl render -f istio.yaml --version v1.30.0 --platform openshift -o json

  # From stdin
  cat istio.yaml istiocni.yaml | sailctl render -f -`

// NewRenderCommand returns the render command.
func NewRenderCommand() *cobra.Command {
	o := &PlanOptions{}
	var output string
	cmd := &cobra.Command{
		Use:     "render -f FILE ...",
		Short:   "Print the objects the operator would apply for Sail resources, offline",
		Long:    renderLong,
		Example: renderExample,
		Args:    cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if err := o.check(); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			if output != OutputYAML && output != OutputJSON {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--output must be yaml or json, not %q", output)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRender(o, output, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", OutputYAML, "format: yaml (documents) or json (a v1 List)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{OutputYAML, OutputJSON}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Render returns the prepared groups of the input, as render prints them.
func Render(o *PlanOptions, stdin io.Reader) ([]preview.Group, error) {
	p, groups, err := o.plan(stdin)
	if err != nil {
		return nil, err
	}
	if err := preview.Prepare(preview.OfflineApplier(p.Scheme()), groups); err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	return groups, nil
}

func runRender(o *PlanOptions, output string, stdin io.Reader, stdout io.Writer) error {
	groups, err := Render(o, stdin)
	if err != nil {
		return err
	}
	if output == OutputJSON {
		var items []any
		for _, g := range groups {
			for _, u := range g.Objects {
				items = append(items, u.Object)
			}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	}
	for _, g := range groups {
		for _, u := range g.Objects {
			if err := writeDocument(stdout, g, u); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeDocument(w io.Writer, g preview.Group, u *unstructured.Unstructured) error {
	data, err := yaml.Marshal(u.Object)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "---\n# %s applies %s %s (%s document %d)\n%s", ownerName(g), u.GetKind(), u.GetName(),
		g.Source.File, g.Source.Index, data)
	return err
}

func ownerName(g preview.Group) string {
	kind := g.Owner.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		kind = fmt.Sprintf("%T", g.Owner)[len("*v1."):]
	}
	return kind + " " + g.Owner.GetName()
}
