package testenv

import (
	"io/fs"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sail-mesh/sail/internal/pipeline/manifest"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// IstioCRDs returns the CRDs of the base chart of Istio version (one of Sail's versions), as in the chart's
// files/crd-all.gen.yaml.
func IstioCRDs(t testing.TB, version string) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	fsys, err := versions.ChartFS(version, versions.ChartBase)
	if err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(fsys, "files/crd-all.gen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, u := range objs {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, crd); err != nil {
			t.Fatal(err)
		}
		out = append(out, crd)
	}
	return out
}

// InstallIstioCRDsLikeHelm creates the CRDs of Istio version's base chart the way `helm install istio-base` of
// Istio release does: with the chart's standard labels (app.kubernetes.io/version, helm.sh/chart, ...) and
// none of Sail's. It waits until they are served and returns them as created.
func (e *Env) InstallIstioCRDsLikeHelm(t testing.TB, version, release string) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crds := IstioCRDs(t, version)
	appVersion := strings.TrimPrefix(release, "v")
	for _, crd := range crds {
		crd.Labels = map[string]string{
			"app.kubernetes.io/managed-by": "Helm",
			"app.kubernetes.io/instance":   "istio-base",
			"app.kubernetes.io/part-of":    "istio",
			"app.kubernetes.io/version":    appVersion,
			"helm.sh/chart":                "base-" + appVersion,
		}
		crd.Annotations = map[string]string{"helm.sh/resource-policy": "keep",
			"meta.helm.sh/release-name": "istio-base", "meta.helm.sh/release-namespace": "istio-system"}
		e.CreateAndWait(t, crd)
	}
	return crds
}
