package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Istioctl is the istioctl of one Istio version (built by `make istio-tools` from the istio.io/istio module of
// the version, as a user has it) that reaches the cluster as an administrator.
type Istioctl struct {
	bin, kubeconfig, home string
}

// IstioctlRun is what one run of istioctl printed and how it exited.
type IstioctlRun struct {
	// Args are the arguments, without the --kubeconfig flag istioctl is given.
	Args []string
	// Stdout and Stderr are what it printed.
	Stdout, Stderr string
	// ExitCode is 0 on success; istioctl analyze and precheck exit non-zero when they report issues.
	ExitCode int
}

// Istioctl returns the istioctl of version run against the cluster, with home as its HOME (istioctl reads its
// defaults from $HOME/.istioctl).
func (c *Cluster) Istioctl(version, home string) (*Istioctl, error) {
	bin, err := IstioBinary(version, "istioctl")
	if err != nil {
		return nil, err
	}
	return &Istioctl{bin: bin, kubeconfig: c.Local.KubeconfigPath(), home: home}, nil
}

// Run runs istioctl with args. It returns an error only when istioctl could not run; a non-zero exit is
// recorded in the IstioctlRun.
func (i *Istioctl) Run(ctx context.Context, args ...string) (IstioctlRun, error) {
	cmd := exec.CommandContext(ctx, i.bin, append(append([]string{}, args...), "--kubeconfig", i.kubeconfig)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + i.home}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	run := IstioctlRun{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: exitCode(err)}
	if run.ExitCode < 0 {
		return run, fmt.Errorf("running istioctl %s: %w", strings.Join(args, " "), err)
	}
	return run, nil
}

// exitCode is the exit code of a command that ended with err: -1 when it did not run to an exit.
func exitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	return -1
}

// String shows a run as a user sees it in a terminal.
func (r IstioctlRun) String() string {
	return fmt.Sprintf("$ istioctl %s\n%s%s[exit %d]", strings.Join(r.Args, " "), r.Stdout, r.Stderr, r.ExitCode)
}
