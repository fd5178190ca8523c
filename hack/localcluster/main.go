// Command localcluster starts, stops and locates the local kwok test cluster
// (see internal/devtools/localcluster). It is what hack/cluster.sh and the Makefile's
// cluster-up / cluster-down targets run.
//
// Usage:
//
//	go run ./hack/localcluster up [--name sail] [--nodes 3] [--audit-policy FILE] [--workdir DIR] [--bindir DIR]
//	go run ./hack/localcluster down [--name sail] [--workdir DIR] [--bindir DIR]
//	go run ./hack/localcluster kubeconfig [--name sail] [--workdir DIR]
//
// up and kubeconfig print the cluster's kubeconfig path on stdout (and
// nothing else there); progress goes to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sail-mesh/sail/internal/devtools/localcluster"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func usage() error {
	return fmt.Errorf("usage: localcluster up|down|kubeconfig [flags] (see -h of each)")
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
	}
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	var opts localcluster.Options
	fs.StringVar(&opts.Name, "name", localcluster.DefaultName, "cluster name")
	fs.StringVar(&opts.WorkDir, "workdir", "", "kwokctl work directory (default: .cluster/ at the module root)")
	fs.StringVar(&opts.BinDir, "bindir", "", "directory with the cluster binaries (default: bin/ at the module root)")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up after this long")
	switch cmd {
	case "up":
		fs.IntVar(&opts.Nodes, "nodes", 3, "number of fake nodes")
		fs.StringVar(&opts.AuditPolicyFile, "audit-policy", "", "audit policy file; enables the API server audit log")
	case "down", "kubeconfig":
	default:
		return usage()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("localcluster: unexpected arguments %q", fs.Args())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	switch cmd {
	case "up":
		start := time.Now()
		c, err := localcluster.Start(ctx, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "cluster %q ready in %v", c.Name(), time.Since(start).Round(time.Millisecond))
		if opts.AuditPolicyFile != "" {
			fmt.Fprintf(os.Stderr, "; audit log: %s", c.AuditLogPath())
		}
		fmt.Fprintf(os.Stderr, "\n  export KUBECONFIG=%s\n", c.KubeconfigPath())
		fmt.Println(c.KubeconfigPath())
	case "down":
		if err := localcluster.Delete(ctx, opts); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "cluster %q deleted\n", opts.Name)
	case "kubeconfig":
		c, err := localcluster.Open(opts)
		if err != nil {
			return err
		}
		fmt.Println(c.KubeconfigPath())
	}
	return nil
}
