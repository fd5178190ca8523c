package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The names Write gives its outputs under its directory.
const (
	// LayoutDir is the OCI image layout: `skopeo copy oci:<dir>:<tag> ...`, `crane push --index <dir>`...
	LayoutDir = "oci"
	// TarballFile is the `docker load -i` tarball (docker save format), also read by `crane push`, `skopeo
	// copy docker-archive:` and `podman load`.
	TarballFile = "sail-operator.tar"
)

// Outputs are the paths Write wrote.
type Outputs struct {
	Layout, Tarball string
}

// Write writes img, named ref (registry/repository:tag), under dir as an OCI image layout (dir/oci, replaced if
// present; its index names the image by tag and full reference) and a docker-load tarball (dir/sail-operator.tar).
func Write(img v1.Image, ref, dir string) (Outputs, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return Outputs{}, fmt.Errorf("image: reference %q: %w", ref, err)
	}
	out := Outputs{Layout: filepath.Join(dir, LayoutDir), Tarball: filepath.Join(dir, TarballFile)}
	if err := os.RemoveAll(out.Layout); err != nil {
		return out, err
	}
	p, err := layout.Write(out.Layout, empty.Index)
	if err != nil {
		return out, fmt.Errorf("image: OCI layout %s: %w", out.Layout, err)
	}
	// ref.name is the tag as the OCI spec and skopeo's oci: transport expect it; containerd (`ctr image import`)
	// reads the full name from its own key.
	annotations := map[string]string{"org.opencontainers.image.ref.name": tag.TagStr(), "io.containerd.image.name": tag.Name()}
	if err := p.AppendImage(img, layout.WithAnnotations(annotations)); err != nil {
		return out, fmt.Errorf("image: OCI layout %s: %w", out.Layout, err)
	}
	if err := tarball.WriteToFile(out.Tarball, tag, img); err != nil {
		return out, fmt.Errorf("image: tarball %s: %w", out.Tarball, err)
	}
	return out, nil
}

// Describe prints what `crane manifest` and `crane config` would show of img: its digest, its layers and its
// config file, indented.
func Describe(img v1.Image) (string, error) {
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	layers, err := img.Layers()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "digest: %s\n", digest)
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return "", err
		}
		size, err := l.Size()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "layer:  %s (%.1f MB compressed)\n", d, float64(size)/1e6)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return "", err
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, cfg, "", "  "); err != nil {
		return "", err
	}
	b.WriteString("config: ")
	b.Write(indented.Bytes())
	b.WriteString("\n")
	return b.String(), nil
}
