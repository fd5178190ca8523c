package lifecycle

import (
	"bufio"
	"bytes"
	"io/fs"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// ChartKinds returns the kinds the templates of the charts of every version in list can render, read from the
// templates' top-level apiVersion and kind fields, one API version per group and kind (the newest Istio
// version's), sorted. A version whose charts are not embedded in this build contributes nothing.
func ChartKinds(list *versions.List, charts ...string) []schema.GroupVersionKind {
	seen := map[schema.GroupKind]schema.GroupVersionKind{}
	for _, v := range list.Versions {
		for _, chart := range charts {
			files, err := versions.ChartFS(v.Name, chart)
			if err != nil {
				continue
			}
			_ = fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".tpl") {
					return nil
				}
				data, err := fs.ReadFile(files, p)
				if err == nil {
					for _, gvk := range templateKinds(data) {
						if _, ok := seen[gvk.GroupKind()]; !ok {
							seen[gvk.GroupKind()] = gvk
						}
					}
				}
				return nil
			})
		}
	}
	out := make([]schema.GroupVersionKind, 0, len(seen))
	for _, gvk := range seen {
		out = append(out, gvk)
	}
	slices.SortFunc(out, func(a, b schema.GroupVersionKind) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// templateKinds pairs the top-level kind and apiVersion fields of each document of a template (in either
// order); templated values ({{ ... }}) are skipped.
func templateKinds(data []byte) []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	var apiVersion, kind string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "---") {
			apiVersion, kind = "", ""
		}
		if strings.Contains(line, "{{") {
			continue
		}
		if v, ok := strings.CutPrefix(line, "apiVersion:"); ok {
			apiVersion = strings.Trim(strings.TrimSpace(v), `"'`)
		}
		if k, ok := strings.CutPrefix(line, "kind:"); ok {
			kind = strings.Trim(strings.TrimSpace(k), `"'`)
		}
		if apiVersion != "" && kind != "" {
			out = append(out, schema.FromAPIVersionAndKind(apiVersion, kind))
			apiVersion, kind = "", ""
		}
	}
	return out
}

// OwnedTypes returns an empty object of each kind the charts of every version in list render, for the
// controller to watch (a change or deletion of one brings its owner back to repair it), except the kinds in skip
// (by kind name, e.g. CustomResourceDefinition, which the CRD installer handles). Kinds the scheme does not know
// (e.g. NetworkAttachmentDefinition, a Multus CRD that may not be installed) are returned by name in unwatched:
// they are applied and pruned but not watched.
func OwnedTypes(scheme *runtime.Scheme, list *versions.List, charts []string, skip ...string) (owned []client.Object, unwatched []string) {
	for _, gvk := range ChartKinds(list, charts...) {
		if slices.Contains(skip, gvk.Kind) {
			continue
		}
		obj, err := scheme.New(gvk)
		if err != nil {
			unwatched = append(unwatched, gvk.Kind)
			continue
		}
		owned = append(owned, obj.(client.Object))
	}
	return owned, unwatched
}
