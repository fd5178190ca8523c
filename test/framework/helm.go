package framework

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
	docs, err := manifestDocs(files)
	if err != nil {
		return nil, fmt.Errorf("helm template %s of %s: %w", chart, version, err)
	}
	return parseDocs(docs)
}

// manifestDocs returns the rendered templates as `helm template` prints them: NOTES.txt left out, manifests in
// install order, then the hooks.
func manifestDocs(files map[string]string) ([]string, error) {
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	var docs []string
	for _, m := range manifests {
		docs = append(docs, m.Content)
	}
	for _, h := range hooks {
		docs = append(docs, h.Manifest)
	}
	return docs, nil
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

// HelmFieldManager is the field manager of Helm 4's server-side apply.
const HelmFieldManager = "helm"

// HelmRelease is a chart installed as `helm install` installs it.
type HelmRelease struct {
	// Name and Namespace are the release's.
	Name, Namespace string
	// Objects are what was applied, in install order.
	Objects []*unstructured.Unstructured
}

// HelmInstall installs a chart as `helm install <release> <chart> -n <namespace>` with vals does with Helm 4:
// the objects of HelmTemplate, namespaced ones without a namespace put in the release namespace, each labelled
// app.kubernetes.io/managed-by=Helm and annotated with the release, applied in install order with server-side
// apply under the field manager helm. The release record (a Secret) is left out: nothing but Helm reads it.
func (c *Cluster) HelmInstall(ctx context.Context, version, chart, release, namespace string, vals map[string]any) (*HelmRelease, error) {
	objs, err := HelmTemplate(version, chart, release, namespace, vals)
	if err != nil {
		return nil, err
	}
	rel := &HelmRelease{Name: release, Namespace: namespace}
	for _, u := range objs {
		if err := c.applyAsHelm(ctx, u, rel); err != nil {
			return rel, err
		}
		rel.Objects = append(rel.Objects, u)
	}
	return rel, nil
}

// applyAsHelm applies one object of a release as Helm 4 does.
func (c *Cluster) applyAsHelm(ctx context.Context, u *unstructured.Unstructured, rel *HelmRelease) error {
	if err := c.helmMetadata(u, rel); err != nil {
		return err
	}
	err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(HelmFieldManager),
		client.ForceOwnership)
	if err != nil {
		return fmt.Errorf("helm install %s: %s %s: %w", rel.Name, u.GetKind(), u.GetName(), err)
	}
	return nil
}

// helmMetadata sets what `helm install` sets on every object of a release: its namespace, Helm's label and the
// release's annotations.
func (c *Cluster) helmMetadata(u *unstructured.Unstructured, rel *HelmRelease) error {
	namespaced, err := c.Client.IsObjectNamespaced(u)
	if err != nil {
		return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	if namespaced && u.GetNamespace() == "" {
		u.SetNamespace(rel.Namespace)
	}
	u.SetLabels(withEntries(u.GetLabels(), map[string]string{"app.kubernetes.io/managed-by": "Helm"}))
	u.SetAnnotations(withEntries(u.GetAnnotations(), map[string]string{
		"meta.helm.sh/release-name": rel.Name, "meta.helm.sh/release-namespace": rel.Namespace}))
	return nil
}

// withEntries adds entries to a map of labels or annotations, which may be nil.
func withEntries(m, entries map[string]string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, entries)
	return m
}

// Uninstall deletes the release's objects in reverse install order, as `helm uninstall` does, except its
// objects annotated helm.sh/resource-policy=keep (Istio's CRDs), which Helm keeps.
func (r *HelmRelease) Uninstall(ctx context.Context, c client.Client) error {
	var errs []error
	for i := len(r.Objects) - 1; i >= 0; i-- {
		u := r.Objects[i]
		if u.GetAnnotations()["helm.sh/resource-policy"] == "keep" {
			continue
		}
		if err := c.Delete(ctx, u); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("helm uninstall %s: %s %s: %w", r.Name, u.GetKind(), u.GetName(), err))
		}
	}
	return errors.Join(errs...)
}
