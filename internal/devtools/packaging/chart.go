// Package packaging renders Sail's Helm chart (deploy/chart) with Helm's engine and generates the OLM bundle
// (bundle/) from it, the generated CRDs and RBAC (config/), and the samples. hack/bundle and the tests use it; the
// operator does not.
package packaging

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sail-mesh/sail/internal/pipeline/manifest"
)

// Release names a Helm release to render.
type Release struct {
	// Name of the release; "sail-operator" gives objects named sail-operator.
	Name string
	// Namespace the release is installed in.
	Namespace string
	// Values override the chart's values.yaml (maps merge, anything else replaces).
	Values map[string]any
}

// LoadChart loads the chart in dir (deploy/chart).
func LoadChart(dir string) (*chartv2.Chart, error) {
	c, err := loader.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart in %s: %w", dir, err)
	}
	return c, nil
}

// DefaultImage is the operator image of the chart's values (image.repository) tagged with version, or with the
// chart's appVersion when version is empty, as the chart's Deployment names it by default. The committed OLM
// bundle and `make image` (hack/image) both take the image's name from here, so that the chart, the bundle and
// the built image agree on one tag: appVersion in deploy/chart/Chart.yaml.
func DefaultImage(c *chartv2.Chart, version string) string {
	if version == "" {
		version = c.Metadata.AppVersion
	}
	repo, _ := c.Values["image"].(map[string]any)["repository"].(string)
	return repo + ":" + strings.TrimPrefix(version, "v")
}

// RenderChart renders the chart in dir for rel with Helm's engine (as `helm template` does, including the values
// schema check) and returns its objects in the order Helm installs them.
func RenderChart(dir string, rel Release) ([]*unstructured.Unstructured, error) {
	c, err := LoadChart(dir)
	if err != nil {
		return nil, err
	}
	return Render(c, rel)
}

// Render renders a loaded chart; see RenderChart.
func Render(c *chartv2.Chart, rel Release) ([]*unstructured.Unstructured, error) {
	opts := common.ReleaseOptions{Name: rel.Name, Namespace: rel.Namespace, IsInstall: true, Revision: 1}
	vals, err := util.ToRenderValues(c, rel.Values, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	files, err := engine.Render(c, vals)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		if ext := path.Ext(name); ext == ".yaml" || ext == ".yml" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var objs []*unstructured.Unstructured
	for _, name := range names {
		parsed, err := manifest.Parse([]byte(files[name]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		objs = append(objs, parsed...)
	}
	SortForInstall(objs)
	return objs, nil
}

// installOrder is the order Helm installs kinds in (kinds not listed come last).
var installOrder = []string{"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
	"ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
	"Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService"}

// SortForInstall orders objects as Helm installs them: by kind, then by name.
func SortForInstall(objs []*unstructured.Unstructured) {
	rank := func(u *unstructured.Unstructured) int {
		if i := slices.Index(installOrder, u.GetKind()); i >= 0 {
			return i
		}
		return len(installOrder)
	}
	sort.SliceStable(objs, func(i, j int) bool {
		if ri, rj := rank(objs[i]), rank(objs[j]); ri != rj {
			return ri < rj
		}
		if objs[i].GetKind() != objs[j].GetKind() {
			return objs[i].GetKind() < objs[j].GetKind()
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}

// Find returns the rendered object of the kind and name, or nil.
func Find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, u := range objs {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	return nil
}

// OfKind returns the rendered objects of a kind.
func OfKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// Kinds lists "Kind/name" of every object, for messages.
func Kinds(objs []*unstructured.Unstructured) string {
	var s []string
	for _, u := range objs {
		s = append(s, u.GetKind()+"/"+u.GetName())
	}
	return strings.Join(s, ", ")
}
