package image

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/gomega"

	"github.com/sail-mesh/sail/internal/devtools/packaging"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// testBinary builds the operator once for the host's architecture, stamped with a version and commit no other
// build uses, so that the test sees its own stamp.
func testBinary(t *testing.T, version, commit string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sail-operator")
	err := BuildBinary(context.Background(), BinaryOptions{Root: repoRoot(), Out: bin, Version: version, Commit: commit,
		Arch: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestBuild_ImageRunsTheStampedOperatorAsNonRoot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs the image's Linux binary")
	}
	g := NewWithT(t)
	const version, commit = "9.8.7-test", "abc1234"
	bin := testBinary(t, version, commit)
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	opts := Options{Binary: bin, Version: version, Revision: strings.Repeat("abc1234", 6)[:40], Created: created, Arch: runtime.GOARCH}
	img, err := Build(opts)
	g.Expect(err).NotTo(HaveOccurred())

	chrt, err := packaging.LoadChart(filepath.Join(repoRoot(), "deploy", "chart"))
	g.Expect(err).NotTo(HaveOccurred())
	ref := packaging.DefaultImage(chrt, "")
	out, err := Write(img, ref, t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	desc, err := Describe(img)
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("%s\n%s", ref, desc)

	// Both outputs hold the same image, found by its name.
	fromLayout := imageFromLayout(t, out.Layout, ref)
	tag, err := name.NewTag(ref)
	g.Expect(err).NotTo(HaveOccurred())
	fromTarball, err := tarball.ImageFromPath(out.Tarball, &tag)
	g.Expect(err).NotTo(HaveOccurred())
	// The layout keeps the manifest, so the digest; the docker tarball keeps the config and the layers (docker
	// load makes its own manifest).
	want, _ := img.Digest()
	g.Expect(fromLayout.Digest()).To(Equal(want))
	wantConfig, _ := img.ConfigName()
	g.Expect(fromTarball.ConfigName()).To(Equal(wantConfig))
	wantLayers, _ := img.Layers()
	tarLayers, err := fromTarball.Layers()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tarLayers).To(HaveLen(len(wantLayers)))
	g.Expect(tarLayers[0].DiffID()).To(Equal(must(wantLayers[0].DiffID())))

	cfg, err := fromTarball.ConfigFile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.OS).To(Equal("linux"))
	g.Expect(cfg.Architecture).To(Equal(runtime.GOARCH))
	g.Expect(cfg.Config.User).To(Equal("65532:65532"))
	g.Expect(cfg.Config.Entrypoint).To(Equal([]string{"/sail-operator"}))
	g.Expect(cfg.Created.Time.Equal(created)).To(BeTrue())
	g.Expect(cfg.Config.Labels).To(Equal(map[string]string{
		LabelTitle: "sail-operator", LabelDescription: "Sail, a Kubernetes operator for upstream Istio",
		LabelVersion: version, LabelRevision: opts.Revision, LabelSource: "https://github.com/sail-mesh/sail",
		LabelLicenses: "Apache-2.0", LabelCreated: "2026-01-02T03:04:05Z"}))

	files := extract(t, fromLayout)
	g.Expect(files).To(HaveKey("etc/passwd"))
	g.Expect(string(files["etc/passwd"].data)).To(ContainSubstring("nonroot:x:65532:65532:"))
	g.Expect(files["tmp"].hdr.Mode).To(BeEquivalentTo(0o1777))
	g.Expect(files["home/nonroot"].hdr.Uid).To(Equal(UID))
	entry := files["sail-operator"]
	g.Expect(entry.hdr.Mode&0o111).NotTo(BeZero(), "the binary is executable")
	g.Expect(entry.hdr.ModTime.Equal(created)).To(BeTrue())

	// The binary from the layer runs and prints the stamped version and commit.
	extracted := filepath.Join(t.TempDir(), "sail-operator")
	g.Expect(os.WriteFile(extracted, entry.data, 0o755)).To(Succeed())
	got, err := exec.Command(extracted, "--version").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(got))
	g.Expect(string(got)).To(HavePrefix("sail-operator " + version + " (commit " + commit + ")\n"))

	// Rebuilding from the same binary and time gives the same digest.
	again, err := Build(opts)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.Digest()).To(Equal(want))
}

func imageFromLayout(t *testing.T, dir, ref string) v1.Image {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Annotations["io.containerd.image.name"] != ref ||
		!strings.HasSuffix(ref, ":"+m.Manifests[0].Annotations["org.opencontainers.image.ref.name"]) {
		t.Fatalf("the layout's index does not name the image %s: %+v", ref, m.Manifests)
	}
	img, err := p.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type file struct {
	hdr  *tar.Header
	data []byte
}

// extract reads the image's filesystem, by path (without a trailing slash).
func extract(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	r := mutate.Extract(img)
	defer r.Close()
	tr := tar.NewReader(r)
	files := map[string]file{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = file{hdr: h, data: data}
	}
}

func TestBuild_RefusesABinaryTheImageCannotRun(t *testing.T) {
	g := NewWithT(t)
	created := time.Now()
	notELF := filepath.Join(t.TempDir(), "script")
	g.Expect(os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)).To(Succeed())
	_, err := Build(Options{Binary: notELF, Version: "1", Revision: "r", Created: created})
	g.Expect(err).To(MatchError(ContainSubstring("not a Linux executable")))

	// The test binary itself: a Go executable of the host's architecture, built for another one's image.
	self, err := os.Executable()
	g.Expect(err).NotTo(HaveOccurred())
	other := map[string]string{"amd64": "arm64"}[runtime.GOARCH]
	if other == "" {
		other = "amd64"
	}
	_, err = Build(Options{Binary: self, Version: "1", Revision: "r", Created: created, Arch: other})
	g.Expect(err).To(MatchError(ContainSubstring("GOARCH=" + other)))

	// A dynamically linked binary of the host (coreutils' ls links libc).
	if ls, err := exec.LookPath("ls"); err == nil && checkStatic(ls, runtime.GOARCH) != nil {
		_, err = Build(Options{Binary: ls, Version: "1", Revision: "r", Created: created, Arch: runtime.GOARCH})
		g.Expect(err).To(MatchError(ContainSubstring("CGO_ENABLED=0")))
	}

	_, err = Build(Options{Binary: self, Version: "1"})
	g.Expect(err).To(MatchError(ContainSubstring("required")))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
