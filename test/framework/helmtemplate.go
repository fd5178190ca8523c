package framework

import (
	"fmt"
	"path/filepath"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// ChartDir is where `make resources` extracted a chart of a version, as a Helm user would have it on disk.
func ChartDir(version, chart string) string {
	return filepath.Join(testenv.RepoRoot(), "resources", "charts", version, chart)
}

// HelmTemplate renders a chart as `helm template <release> <chart> -n <namespace>` with the given values does:
// Helm's default capabilities, schema validation, the template engine, NOTES.txt left out, manifests sorted in
// install order and hooks kept. It returns the objects of the manifest, in that order.
func HelmTemplate(version, chart, releaseName, namespace string, vals map[string]any) ([]*unstructured.Unstructured, error) {
	chrt, err := loader.Load(ChartDir(version, chart))
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
