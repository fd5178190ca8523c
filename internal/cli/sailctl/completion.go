package sailctl

import (
	"fmt"

	"github.com/spf13/cobra"
)

// NewCompletionCommand returns the completion command, which prints shell completion scripts.
func NewCompletionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: "Print the completion script of sailctl for a shell. Load it in the current shell, or install it " +
			"where the shell looks for completions.",
		Example: "  # bash, current shell\n  source <(sailctl completion bash)\n\n" +
			"  # zsh, installed\n  sailctl completion zsh > \"${fpath[1]}/_sailctl\"\n\n" +
			"  # fish\n  sailctl completion fish > ~/.config/fish/completions/sailctl.fish\n\n" +
			"  # PowerShell\n  sailctl completion powershell | Out-String | Invoke-Expression",
		ValidArgs:             []string{"bash", "zsh", "fish", "powershell"},
		Args:                  cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(out)
			}
			return fmt.Errorf("unknown shell %q", args[0])
		},
	}
}
