package render

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sail-mesh/sail/internal/pipeline/objectid"
)

// FuzzRender renders Istio's base chart (the chart the revision named default and the default tag render; its CRD
// template aside, see Renderer.chart) with arbitrary user values: Render must never panic and must not modify the
// values it is given; errors are fine. What it renders must be objects Sail can apply (kind, apiVersion, name and
// content hash set), and the same input must give the same objects again.
func FuzzRender(f *testing.F) {
	f.Add([]byte(`{}`), false)
	f.Add([]byte(`{"global":{"istioNamespace":"istio-system"},"defaultRevision":"default"}`), true)
	f.Add([]byte(`{"base":{"validationURL":"https://x","validationCABundle":"Y2E="},"defaultRevision":"default"}`), true)
	f.Add([]byte(`{"global":{"resourceScope":"cluster","imagePullSecrets":["a"]},"revision":"canary"}`), false)
	f.Add([]byte(`{"base":{"enableIstioConfigCRDs":false,"excludedCRDs":["x"]},"experimental":{"stableValidationPolicy":true}}`), true)
	f.Add([]byte(`{"defaultRevision":["not","a","string"],"global":7}`), false)
	r := New(nil)
	f.Fuzz(func(t *testing.T, valuesJSON []byte, defaultRevision bool) {
		var vals map[string]any
		if err := json.Unmarshal(valuesJSON, &vals); err != nil {
			return
		}
		var before map[string]any
		_ = json.Unmarshal(valuesJSON, &before)
		in := Input{Version: "v1.31.0", Chart: "base", Release: "base", Namespace: "istio-system", Values: vals}
		if defaultRevision {
			in.Release = "default"
		}
		objs, err := r.Render(in)
		if !reflect.DeepEqual(vals, before) {
			t.Fatal("Render modified the values it was given")
		}
		if err != nil {
			return
		}
		for _, u := range objs {
			if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
				t.Fatalf("rendered an object Sail cannot apply: %s", objectid.ID(u))
			}
			if u.GetAnnotations()[objectid.AnnotationHash] == "" {
				t.Fatalf("%s has no content hash", objectid.ID(u))
			}
		}
		again, err := r.Render(in)
		if err != nil || !reflect.DeepEqual(again, objs) {
			t.Fatalf("the same input rendered differently the second time (error %v)", err)
		}
	})
}
