package parity

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// chartDir is where `make resources` extracted a chart of a version, as a Helm user would have it on disk.
func chartDir(version, chart string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "resources", "charts", version, chart)
}

// helmTemplate renders a chart as `helm template <release> <chart> -n <namespace>` with the given values does:
// Helm's default capabilities, schema validation, the template engine, NOTES.txt left out, manifests sorted in
// install order and hooks kept. It returns the objects of the manifest.
func helmTemplate(version, chart, releaseName, namespace string, vals map[string]any) ([]*unstructured.Unstructured, error) {
	chrt, err := loader.Load(chartDir(version, chart))
	if err != nil {
		return nil, fmt.Errorf("loading chart %s of %s (run `make resources`): %w", chart, version, err)
	}
	opts := common.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true}
	renderVals, err := util.ToRenderValuesWithSchemaValidation(chrt, vals, opts, common.DefaultCapabilities.Copy(), false)
	if err != nil {
		return nil, fmt.Errorf("helm template %s of %s: values: %w", chart, version, err)
	}
	files, err := engine.Engine{}.Render(chrt, renderVals)
	if err != nil {
		return nil, fmt.Errorf("helm template %s of %s: %w", chart, version, err)
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, fmt.Errorf("helm template %s of %s: %w", chart, version, err)
	}
	var docs []string
	for _, m := range manifests {
		docs = append(docs, m.Content)
	}
	for _, h := range hooks {
		docs = append(docs, h.Manifest)
	}
	return parseDocs(docs)
}

// parseDocs decodes YAML documents into objects, leaving out empty ones.
func parseDocs(docs []string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, d := range docs {
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
			return nil, err
		}
		if len(obj) > 0 {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
	return out, nil
}

// helmProfile returns the values by which a Helm user selects the equivalent of a Sail profile, the way Istio's
// documentation tells them to: `--set profile=<name>` for Istio's profiles, `--set global.platform=openshift`
// for OpenShift; Sail's default and empty profiles add nothing.
func helmProfile(profile string) map[string]any {
	switch profile {
	case "default", "empty":
		return map[string]any{}
	case "openshift":
		return map[string]any{"global": map[string]any{"platform": "openshift"}}
	case "openshift-ambient":
		return map[string]any{"profile": "ambient", "global": map[string]any{"platform": "openshift"}}
	default:
		return map[string]any{"profile": profile}
	}
}

// helmValues returns the values a Helm user passes to install a chart of a version with a profile: the profile,
// the version's images (the charts published in Istio's Go module name none) and the extra values, which win.
func helmValues(v versions.Version, profile string, extra map[string]any) map[string]any {
	vals := loader.MergeMaps(helmProfile(profile), map[string]any{"global": map[string]any{"hub": v.Hub, "tag": v.Tag}})
	return loader.MergeMaps(vals, extra) // how Helm merges -f files and --set flags
}
