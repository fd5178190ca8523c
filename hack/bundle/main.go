// Command bundle generates the OLM bundle: bundle/manifests (ClusterServiceVersion, Sail's CRDs, the metrics
// Service and metrics reader ClusterRole), bundle/metadata/annotations.yaml and bundle.Dockerfile, from the Helm
// chart, the generated CRDs and RBAC, config/samples and resources/versions.yaml (see internal/devtools/packaging). The
// committed bundle uses the chart's appVersion; a release can generate another version and image elsewhere.
//
// Usage (from the repository root): go run ./hack/bundle [-version 0.2.0] [-image registry/sail-operator:0.2.0] [-out dir]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/sail-mesh/sail/internal/devtools/packaging"
)

func main() {
	root := flag.String("root", ".", "repository root (the sources)")
	out := flag.String("out", "", "where to write bundle/ and bundle.Dockerfile (default: the root)")
	version := flag.String("version", "", "bundle version (default: appVersion in deploy/chart/Chart.yaml)")
	image := flag.String("image", "", "operator image (default: the chart's image repository, tagged with the version)")
	channels := flag.String("channels", packaging.DefaultChannel, "comma-separated OLM channels")
	defaultChannel := flag.String("default-channel", "", "default OLM channel (default: the first channel)")
	flag.Parse()
	if *out == "" {
		*out = *root
	}
	files, err := packaging.GenerateBundle(packaging.BundleOptions{Root: *root, Version: *version, Image: *image,
		Channels: strings.Split(*channels, ","), DefaultChannel: *defaultChannel})
	if err == nil {
		err = packaging.WriteBundle(*out, files)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bundle:", err)
		os.Exit(1)
	}
}
