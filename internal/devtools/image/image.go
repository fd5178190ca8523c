// Package image builds the Sail operator's container image without a container runtime: the static operator
// binary in one layer on an empty base, with the files a distroless static base would give it (/etc/passwd and
// /etc/group naming the nonroot user 65532, /tmp and the user's home), run as that user. The result is written
// as an OCI image layout and as a tarball that `docker load` (and crane, skopeo, podman) accept. `make image`
// (hack/image) uses it; the operator does not.
package image

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where the image puts things, and who it runs as. They match the Dockerfile (ENTRYPOINT, USER) and the chart
// (runAsNonRoot, the /tmp emptyDir).
const (
	// BinaryPath is the operator binary in the image, and the image's entrypoint.
	BinaryPath = "/sail-operator"
	// UID and GID of the nonroot user the image runs as (the distroless nonroot user).
	UID = 65532
	GID = 65532
	// User is the image's config User: numeric, so that runAsNonRoot can verify it without reading /etc/passwd.
	User = "65532:65532"
)

// The OCI annotation keys the image's labels use
// (https://github.com/opencontainers/image-spec/blob/main/annotations.md).
const (
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelSource      = "org.opencontainers.image.source"
	LabelLicenses    = "org.opencontainers.image.licenses"
	LabelCreated     = "org.opencontainers.image.created"
)

// Options describe the image to build. Binary, Version, Revision and Created are required.
type Options struct {
	// Binary is the path of the static operator binary (see BuildBinary).
	Binary string
	// Version of Sail, the image's version label (and the version stamped into the binary).
	Version string
	// Revision is the full git commit the image is built from.
	Revision string
	// Created is the image's creation time, also the modification time of its files. Use the commit's time, so
	// that the same commit gives the same image digest.
	Created time.Time
	// Arch is the GOARCH the binary is built for (default: amd64).
	Arch string
}

// Build assembles the image: one layer with the binary and the base files, the nonroot user, the entrypoint,
// the OCI labels, OCI media types. The same options give the same digest. It refuses a binary that is not a
// static Linux executable of opts.Arch, since the image has no libc or loader.
func Build(opts Options) (v1.Image, error) {
	if opts.Binary == "" || opts.Version == "" || opts.Revision == "" || opts.Created.IsZero() {
		return nil, fmt.Errorf("image: Binary, Version, Revision and Created are required")
	}
	if opts.Arch == "" {
		opts.Arch = "amd64"
	}
	if err := checkStatic(opts.Binary, opts.Arch); err != nil {
		return nil, err
	}
	created := opts.Created.UTC().Truncate(time.Second)
	layer, err := rootLayer(opts.Binary, created)
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{
		Created: v1.Time{Time: created}, CreatedBy: "hack/image: " + BinaryPath + " and the nonroot user's files",
		Comment: "sail-operator " + opts.Version}})
	if err != nil {
		return nil, fmt.Errorf("image: adding the layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", opts.Arch
	cfg.Config = imageConfig(opts, created)
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: created})
}

// imageConfig is what a runtime reads: user, entrypoint, working directory and labels. No environment: the
// entrypoint is an absolute path, and the binary needs no other variable.
func imageConfig(opts Options, created time.Time) v1.Config {
	return v1.Config{
		User:       User,
		Entrypoint: []string{BinaryPath},
		WorkingDir: "/",
		Labels: map[string]string{
			LabelTitle:       "sail-operator",
			LabelDescription: "Sail, a Kubernetes operator for upstream Istio",
			LabelVersion:     opts.Version,
			LabelRevision:    opts.Revision,
			LabelSource:      "https://github.com/sail-mesh/sail",
			LabelLicenses:    "Apache-2.0",
			LabelCreated:     created.Format(time.RFC3339),
		},
	}
}

// rootLayer is the image's only layer, gzip-compressed once in memory (compression is deterministic: no name
// or time in the gzip header).
func rootLayer(binary string, created time.Time) (v1.Layer, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("image: reading the operator binary: %w", err)
	}
	tarData, err := rootFS(bin, created)
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(tarData); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	data := gz.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
