package packaging

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/blang/semver/v4"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// PackageName is the OLM package of the operator.
const PackageName = "sail-operator"

// DefaultChannel is the OLM channel bundles are published to unless told otherwise.
const DefaultChannel = "stable"

// Paths of the generated bundle, relative to the repository root.
const (
	BundleManifestsDir = "bundle/manifests"
	BundleMetadataDir  = "bundle/metadata"
	BundleDockerfile   = "bundle.Dockerfile"
)

// BundleOptions configure GenerateBundle. Only Root is required.
type BundleOptions struct {
	// Root is the repository root; the bundle is made from deploy/chart, config/crd/bases, config/rbac/role.yaml,
	// config/samples and resources/versions.yaml under it.
	Root string
	// Version of the bundle (semver, no "v"); defaults to the chart's appVersion.
	Version string
	// Image of the operator; defaults to the chart's image repository with the version as tag.
	Image string
	// Channels the bundle is in (default: stable) and the package's default channel (default: the first).
	Channels       []string
	DefaultChannel string
}

// bundle is what the bundle's files are made from: the options with their defaults filled in, the chart's
// metadata and rendered objects, the operator's Deployment and Sail's CRDs.
type bundle struct {
	opts    BundleOptions
	version semver.Version
	meta    *chartv2.Metadata
	objs    []*unstructured.Unstructured
	dep     *appsv1.Deployment
	crds    []crdFile
}

// GenerateBundle makes the OLM bundle (registry+v1): the ClusterServiceVersion, the CRDs and the other manifests
// under bundle/manifests, bundle/metadata/annotations.yaml and bundle.Dockerfile. It returns file contents by
// path relative to the root; WriteBundle writes them. The operator's Deployment, ServiceAccount name and metrics
// objects come from rendering the Helm chart, the permissions from the generated RBAC, so the chart and the
// bundle install the same thing.
func GenerateBundle(o BundleOptions) (map[string][]byte, error) {
	b, err := loadBundle(o)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, c := range b.crds {
		files[manifestPath(c.file)] = c.data // Sail's CRDs, copied as generated
	}
	csv, err := b.clusterServiceVersion()
	if err != nil {
		return nil, err
	}
	if err := addChartManifests(files, b.objs); err != nil {
		return nil, err
	}
	files[manifestPath(PackageName+".clusterserviceversion.yaml")] = csv
	addMetadata(files, b.opts)
	return files, nil
}

// loadBundle loads the chart, fills in the options' defaults, renders the chart and reads the CRDs.
func loadBundle(o BundleOptions) (*bundle, error) {
	chrt, err := LoadChart(filepath.Join(o.Root, "deploy", "chart"))
	if err != nil {
		return nil, err
	}
	o, ver, err := withDefaults(o, chrt)
	if err != nil {
		return nil, err
	}
	objs, err := Render(chrt, Release{Name: PackageName, Namespace: PackageName,
		Values: map[string]any{"crds": map[string]any{"install": false}}})
	if err != nil {
		return nil, fmt.Errorf("rendering the chart: %w", err)
	}
	dep, err := operatorDeployment(objs, o.Image)
	if err != nil {
		return nil, err
	}
	crds, err := readCRDs(o.Root)
	if err != nil {
		return nil, err
	}
	return &bundle{opts: o, version: ver, meta: chrt.Metadata, objs: objs, dep: dep, crds: crds}, nil
}

// withDefaults fills in the version (the chart's appVersion), channels and image of o, and parses the version.
func withDefaults(o BundleOptions, chrt *chartv2.Chart) (BundleOptions, semver.Version, error) {
	if o.Version == "" {
		o.Version = chrt.Metadata.AppVersion
	}
	o.Version = strings.TrimPrefix(o.Version, "v")
	ver, err := semver.Parse(o.Version)
	if err != nil {
		return o, ver, fmt.Errorf("bundle version %q: %w", o.Version, err)
	}
	if len(o.Channels) == 0 {
		o.Channels = []string{DefaultChannel}
	}
	if o.DefaultChannel == "" {
		o.DefaultChannel = o.Channels[0]
	}
	if o.Image == "" {
		repo, _ := chrt.Values["image"].(map[string]any)["repository"].(string)
		o.Image = repo + ":" + o.Version
	}
	return o, ver, nil
}

func manifestPath(name string) string { return BundleManifestsDir + "/" + name }

// addMetadata adds bundle/metadata/annotations.yaml and the bundle image's Dockerfile, which carry the same
// annotations.
func addMetadata(files map[string][]byte, o BundleOptions) {
	annotations := [][2]string{
		{"operators.operatorframework.io.bundle.mediatype.v1", "registry+v1"},
		{"operators.operatorframework.io.bundle.manifests.v1", "manifests/"},
		{"operators.operatorframework.io.bundle.metadata.v1", "metadata/"},
		{"operators.operatorframework.io.bundle.package.v1", PackageName},
		{"operators.operatorframework.io.bundle.channels.v1", strings.Join(o.Channels, ",")},
		{"operators.operatorframework.io.bundle.channel.default.v1", o.DefaultChannel},
	}
	var meta, docker bytes.Buffer
	meta.WriteString("# Generated by hack/bundle (make bundle); do not edit.\nannotations:\n")
	docker.WriteString("# The OLM bundle image. Generated by hack/bundle (make bundle); do not edit.\n" +
		"# Build from the repository root: docker build -f bundle.Dockerfile -t <bundle image> .\nFROM scratch\n\n")
	for _, a := range annotations {
		fmt.Fprintf(&meta, "  %s: %s\n", a[0], a[1])
		fmt.Fprintf(&docker, "LABEL %s=%s\n", a[0], a[1])
	}
	docker.WriteString("\nCOPY " + BundleManifestsDir + " /manifests/\nCOPY " + BundleMetadataDir + " /metadata/\n")
	files[BundleMetadataDir+"/annotations.yaml"] = meta.Bytes()
	files[BundleDockerfile] = docker.Bytes()
}

// WriteBundle writes the files GenerateBundle made under root and removes files of bundle/manifests and
// bundle/metadata it did not make.
func WriteBundle(root string, files map[string][]byte) error {
	if err := removeStale(root, files); err != nil {
		return err
	}
	for name, data := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
			continue
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// removeStale removes the files of bundle/manifests and bundle/metadata under root that are not in files.
func removeStale(root string, files map[string][]byte) error {
	for _, dir := range []string{BundleManifestsDir, BundleMetadataDir} {
		existing, _ := filepath.Glob(filepath.Join(root, dir, "*"))
		for _, f := range existing {
			rel, err := filepath.Rel(root, f)
			if err != nil {
				return err
			}
			if _, ok := files[filepath.ToSlash(rel)]; !ok {
				if err := os.RemoveAll(f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
