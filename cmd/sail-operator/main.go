// Command sail-operator runs the Sail operator, which installs and upgrades Istio control planes declared by
// sailoperator.io/v1 resources.
package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/sail-mesh/sail/internal/memlimit"
	"github.com/sail-mesh/sail/internal/operator"
)

func main() {
	opts := operator.NewOptions()
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if opts.ShowVersion {
		fmt.Print(operator.VersionString())
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts.Zap)))
	log := ctrl.Log.WithName("setup")
	if err := opts.Validate(); err != nil {
		log.Error(err, "invalid options")
		os.Exit(1)
	}
	limit, source := memlimit.Set(opts.MemoryLimitBytes())
	log.Info(memlimit.Describe(limit, source))
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no cluster to talk to: set KUBECONFIG or run in a pod")
		os.Exit(1)
	}
	op, err := operator.New(cfg, opts)
	if err != nil {
		log.Error(err, "cannot start the operator")
		os.Exit(1)
	}
	log.Info("starting", "version", operator.Version, "commit", operator.Commit)
	if err := op.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "the operator stopped with an error")
		os.Exit(1)
	}
}
