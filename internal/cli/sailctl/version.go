package sailctl

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Build information, stamped with -ldflags "-X github.com/sail-mesh/sail/internal/cli/sailctl.Version=... -X
// github.com/sail-mesh/sail/internal/cli/sailctl.Commit=...". When they are not stamped, the module version and VCS
// revision recorded by the Go toolchain are used, if any.
var (
	// Version is the release of sailctl.
	Version = "dev"
	// Commit is the git commit sailctl was built from.
	Commit = "unknown"
)

// buildInfo returns the version and commit, falling back on the Go build information.
func buildInfo() (version, commit string) {
	version, commit = Version, Commit
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version, commit
	}
	if version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		version = info.Main.Version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && commit == "unknown" && len(s.Value) >= 7 {
			commit = s.Value[:7]
		}
	}
	return version, commit
}

// NewVersionCommand returns the version command.
func NewVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of sailctl",
		Example: "  sailctl version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, c := buildInfo()
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "sailctl %s (commit %s, %s, %s/%s)\n", v, c, runtime.Version(),
				runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
