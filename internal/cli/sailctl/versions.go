package sailctl

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// NewVersionsCommand returns the versions command.
func NewVersionsCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "versions",
		Short: "List the Istio versions and aliases this build of Sail supports",
		Long: "List the Istio versions this build of Sail supports, newest first, and the aliases (such as latest) " +
			"that an Istio's spec.version may use instead.",
		Example: "  # As a table\n  sailctl versions\n\n  # For scripts\n  sailctl versions --output json",
		Args:    cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", output)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			l := versions.Default()
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(l)
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tIMAGES\tDEFAULT")
			for i, v := range l.Versions {
				def := ""
				if i == 0 {
					def = "yes"
				}
				fmt.Fprintf(w, "%s\t%s:%s\t%s\n", v.Name, v.Hub, v.Tag, def)
			}
			fmt.Fprintln(w, "\nALIAS\tVERSION\t")
			for _, a := range l.Aliases {
				fmt.Fprintf(w, "%s\t%s\t\n", a.Name, a.Version)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"},
		cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
