// Command image builds the Sail operator's container image without a container runtime (`make image`): the
// static operator binary, version and commit stamped, on an empty base as the nonroot user 65532 (see
// internal/devtools/image). It writes an OCI image layout (<out>/oci) and a `docker load` tarball
// (<out>/sail-operator.tar), named like the image the Helm chart and the committed OLM bundle install: the
// chart's image repository tagged with its appVersion. The image's creation time is the commit's, so a clean
// checkout of one commit always gives the same digest.
//
// Usage (from the repository root, after `make resources`):
//
//	go run ./hack/image [-out _output/image] [-version 0.2.0] [-image registry/sail-operator:0.2.0] [-arch arm64]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sail-mesh/sail/internal/devtools/image"
	"github.com/sail-mesh/sail/internal/devtools/packaging"
)

func main() {
	root := flag.String("root", ".", "repository root (the sources)")
	out := flag.String("out", filepath.Join("_output", "image"), "where to write the OCI layout, the tarball and the binary")
	version := flag.String("version", "", "Sail version, stamped and tagged (default: appVersion in deploy/chart/Chart.yaml)")
	ref := flag.String("image", "", "image reference (default: the chart's image repository, tagged with the version)")
	arch := flag.String("arch", "amd64", "GOARCH of the image (the OS is linux)")
	flag.Parse()
	if err := run(*root, *out, *version, *ref, *arch); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(root, out, version, ref, arch string) error {
	chrt, err := packaging.LoadChart(filepath.Join(root, "deploy", "chart"))
	if err != nil {
		return err
	}
	if version == "" {
		version = chrt.Metadata.AppVersion
	}
	version = strings.TrimPrefix(version, "v")
	if ref == "" {
		ref = packaging.DefaultImage(chrt, version)
	}
	commit, short, created, err := gitCommit(root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(out, "sail-operator")
	if err := image.BuildBinary(context.Background(), image.BinaryOptions{Root: root, Out: bin, Version: version,
		Commit: short, Arch: arch}); err != nil {
		return err
	}
	img, err := image.Build(image.Options{Binary: bin, Version: version, Revision: commit, Created: created, Arch: arch})
	if err != nil {
		return err
	}
	paths, err := image.Write(img, ref, out)
	if err != nil {
		return err
	}
	desc, err := image.Describe(img)
	if err != nil {
		return err
	}
	fmt.Printf("image:  %s\nlayout: %s\ntarball: %s (docker load -i)\n%s", ref, paths.Layout, paths.Tarball, desc)
	return nil
}

// gitCommit is the full and the short hash of HEAD (the short one is stamped, as `make build` does) and its
// commit time (SOURCE_DATE_EPOCH, when set, overrides the time).
func gitCommit(root string) (hash, short string, created time.Time, err error) {
	cmd := exec.Command("git", "show", "-s", "--format=%H %h %ct", "HEAD")
	cmd.Dir = root
	outb, err := cmd.Output()
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("reading the commit with git (run from a git checkout): %w", err)
	}
	fields := strings.Fields(string(outb))
	if len(fields) != 3 {
		return "", "", time.Time{}, fmt.Errorf("unexpected output of git show: %q", outb)
	}
	hash, short, secs := fields[0], fields[1], fields[2]
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		secs = epoch
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("commit time %q: %w", secs, err)
	}
	return hash, short, time.Unix(n, 0).UTC(), nil
}
