package values

import (
	"io/fs"
	"reflect"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// chartTopLevel lists, per chart, the typed values its top-level settings belong to: the values of the resource
// that renders it, and the section the chart copies to its top level (istiod: pilot, cni: cni; Sail lifts
// ZTunnel's ztunnel section there).
var chartTopLevel = map[string][]reflect.Type{
	versions.ChartBase:    {reflect.TypeFor[sailv1.Values]()},
	versions.ChartIstiod:  {reflect.TypeFor[sailv1.Values](), reflect.TypeFor[sailv1.PilotConfig]()},
	versions.ChartCNI:     {reflect.TypeFor[sailv1.CNIValues](), reflect.TypeFor[sailv1.CNIConfig]()},
	versions.ChartZTunnel: {reflect.TypeFor[sailv1.ZTunnelValues](), reflect.TypeFor[sailv1.ZTunnelConfig]()},
}

// notForUsers are chart settings that Sail deliberately gives no field: they label objects with the revision and
// the owner that installed them, which Sail's own labels and owner references do.
var notForUsers = map[string]bool{"cni/revision": true, "cni/ownerName": true}

// TestSchema_HoldsEverySettingOfTheCharts checks that every setting in the values.yaml of every chart of every
// supported version has a field in Sail's typed values, so that no setting a Helm user can pass is dropped.
// A missing one goes into hack/valuesgen's chartFields (or, for ztunnel, api/v1/ztunnel_types.go).
func TestSchema_HoldsEverySettingOfTheCharts(t *testing.T) {
	for _, v := range versions.Default().Versions {
		for chart, types := range chartTopLevel {
			t.Run(v.Name+"/"+chart, func(t *testing.T) {
				g := NewWithT(t)
				fsys, err := versions.ChartFS(v.Name, chart)
				g.Expect(err).NotTo(HaveOccurred())
				data, err := fs.ReadFile(fsys, "values.yaml")
				g.Expect(err).NotTo(HaveOccurred())
				var vals Map
				g.Expect(yaml.Unmarshal(data, &vals)).To(Succeed())
				var missing []string
				for _, k := range withoutFields(types, vals["_internal_defaults_do_not_set"], "") {
					if !notForUsers[chart+"/"+k] {
						missing = append(missing, k)
					}
				}
				g.Expect(missing).To(BeEmpty(), "settings of the %s chart of %s without a field", chart, v.Name)
			})
		}
	}
}

var jsonType = reflect.TypeFor[apiextensionsv1.JSON]()

// withoutFields returns the paths of the settings in v that none of types (structs) has a field for, descending
// into nested structs and lists of structs; free-form JSON and maps hold anything.
func withoutFields(types []reflect.Type, v any, prefix string) []string {
	m, ok := v.(Map)
	if !ok {
		return nil
	}
	var out []string
	for k, sub := range m {
		ft, ok := fieldType(types, k)
		if !ok {
			out = append(out, prefix+k)
			continue
		}
		if ft.Kind() == reflect.Slice {
			if list, ok := sub.([]any); ok && ft.Elem().Kind() == reflect.Struct && ft.Elem() != jsonType {
				for _, e := range list {
					out = append(out, withoutFields([]reflect.Type{ft.Elem()}, e, prefix+k+"[].")...)
				}
			}
			continue
		}
		if ft.Kind() == reflect.Struct && ft != jsonType {
			out = append(out, withoutFields([]reflect.Type{ft}, sub, prefix+k+".")...)
		}
	}
	sort.Strings(out)
	return out
}

// fieldType returns the type (pointers removed) of the field named k in the first of types that has one.
func fieldType(types []reflect.Type, k string) (reflect.Type, bool) {
	for _, t := range types {
		for f := range t.Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == k {
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				return ft, true
			}
		}
	}
	return nil, false
}
