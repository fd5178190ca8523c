// Package sailctl holds the commands of sailctl, Sail's command-line tool: migrate (OpenShift Service Mesh 2
// resources to Sail resources), versions, version and completion. cmd/sailctl only calls Execute.
package sailctl

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// ExitError ends sailctl with an exit code. Err, when set, is printed first.
type ExitError struct {
	Code int
	Err  error
}

// Error implements error.
func (e *ExitError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// Unwrap returns the underlying error.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitUsage is the exit code of a wrong command line (invalid input, like invalid input files).
const ExitUsage = 2

// NewRootCommand returns the sailctl command with all its subcommands.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sailctl",
		Short: "sailctl works with Sail, the Kubernetes operator for upstream Istio",
		Long: "sailctl works with Sail, the Kubernetes operator for upstream Istio.\n\n" +
			"It converts OpenShift Service Mesh 2 control planes into Sail resources (migrate), and lists the Istio " +
			"versions this build of Sail supports (versions).",
		Example: "  # Convert an exported ServiceMeshControlPlane and its member roll\n" +
			"  sailctl migrate -f smcp.yaml -f smmr.yaml\n\n" +
			"  # List the supported Istio versions\n" +
			"  sailctl versions",
		SilenceUsage:  true,
		SilenceErrors: true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
	}
	root.AddCommand(NewMigrateCommand(), NewVersionsCommand(), NewVersionCommand(), NewCompletionCommand())
	root.AddCommand(NewCreateRemoteSecretCommand(), NewCACommand())
	root.AddCommand(NewPrecheckCommand())
	root.AddCommand(NewRenderCommand())
	root.AddCommand(NewDiffCommand())
	return root
}

// Execute runs sailctl with args and returns its exit code: 0 when all went well, 1 when migrate converted with
// warnings, 2 when the input is invalid or blocked, or the command line is wrong.
func Execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(stderr, "Error: %v\nRun 'sailctl --help' for usage.\n", err)
	return ExitUsage
}

// Main runs sailctl with the process's arguments and streams, and exits.
func Main() {
	os.Exit(Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
