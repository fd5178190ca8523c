package values

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// decodeMap decodes a JSON object the way values reach Merge (numbers as float64); ok is false for anything else.
func decodeMap(data []byte) (m Map, ok bool) {
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// checkOverlay checks that out is base overlaid with over: every key of over has over's value, or the merge of
// both maps; every other key of base has base's value.
func checkOverlay(t *testing.T, base, over, out Map, path string) {
	t.Helper()
	if len(out) > len(base)+len(over) {
		t.Fatalf("%s: %d keys from %d + %d", path, len(out), len(base), len(over))
	}
	for k, ov := range over {
		bm, bok := base[k].(Map)
		om, ook := ov.(Map)
		if bok && ook {
			outm, ok := out[k].(Map)
			if !ok {
				t.Fatalf("%s.%s: two maps merged into %T", path, k, out[k])
			}
			checkOverlay(t, bm, om, outm, path+"."+k)
		} else if !reflect.DeepEqual(out[k], ov) {
			t.Fatalf("%s.%s = %v, want over's %v", path, k, out[k], ov)
		}
	}
	for k, bv := range base {
		if _, inOver := over[k]; !inOver && !reflect.DeepEqual(out[k], bv) {
			t.Fatalf("%s.%s = %v, want base's %v", path, k, out[k], bv)
		}
	}
}

// FuzzMerge merges two arbitrary JSON objects: Merge must not panic, must not modify its arguments, must overlay
// over on base key by key, and overlaying the same values again must change nothing.
func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"a":{"x":1,"y":2}}`), []byte(`{"a":{"y":3}}`))
	f.Add([]byte(`{"a":[1,2]}`), []byte(`{"a":[3]}`))
	f.Add([]byte(`{"a":"x"}`), []byte(`{"a":{"b":true}}`))
	f.Add([]byte(`{"a":{"b":true}}`), []byte(`{"a":null}`))
	f.Add([]byte(`{"global":{"hub":"h","proxy":{"resources":{}}}}`), []byte(`{"global":{"proxy":{"resources":{"limits":{"cpu":"1"}}}},"pilot":{}}`))
	f.Fuzz(func(t *testing.T, baseJSON, overJSON []byte) {
		base, ok1 := decodeMap(baseJSON)
		over, ok2 := decodeMap(overJSON)
		if !ok1 || !ok2 {
			return
		}
		baseCopy, _ := decodeMap(baseJSON)
		overCopy, _ := decodeMap(overJSON)
		out := Merge(base, over)
		if !reflect.DeepEqual(base, baseCopy) || !reflect.DeepEqual(over, overCopy) {
			t.Fatal("Merge modified its arguments")
		}
		checkOverlay(t, base, over, out, "")
		if again := Merge(out, over); !reflect.DeepEqual(again, out) {
			t.Fatalf("overlaying the same values twice differs: %v then %v", out, again)
		}
		if alone := Merge(Map{}, over); !reflect.DeepEqual(alone, over) {
			t.Fatalf("Merge of nothing with %v gave %v", over, alone)
		}
	})
}

// valueLeaves calls f with the path and value of every non-map value of m (lists are leaves).
func valueLeaves(m Map, path []string, f func(path []string, v any)) {
	for k, v := range m {
		p := append(slices.Clone(path), k)
		if sub, ok := v.(Map); ok {
			valueLeaves(sub, p, f)
			continue
		}
		f(p, v)
	}
}

// at returns the value at a path of valueLeaves' form.
func at(m Map, path ...string) (any, bool) {
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(Map)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// FuzzForRevision computes a revision's values from arbitrary user values (any JSON that decodes into the values
// schema), for every profile and platform: it must not panic; when it succeeds, every user value is in the
// result (the operator's overrides aside), the overrides are there, and the result survives a round trip.
func FuzzForRevision(f *testing.F) {
	f.Add([]byte(`{}`), uint8(0), false, false)
	f.Add([]byte(`{"pilot":{"replicaCount":3,"env":{"A":"b"}},"global":{"hub":"example.com"}}`), uint8(1), true, false)
	f.Add([]byte(`{"revision":"x","global":{"istioNamespace":"other","proxy":{"resources":{"limits":{"cpu":"2"}}}}}`), uint8(2), false, true)
	f.Add([]byte(`{"meshConfig":{"accessLogFile":"/dev/stdout","defaultConfig":{"proxyMetadata":{"X":"1"}}}}`), uint8(5), true, true)
	f.Add([]byte(`{"pilot":{"cni":{"enabled":true}},"global":{"platform":"openshift"}}`), uint8(7), false, false)
	list := versions.Default()
	profiles := Profiles()
	f.Fuzz(func(t *testing.T, userJSON []byte, profile uint8, openshift, defaultRevision bool) {
		user := &sailv1.Values{}
		if err := json.Unmarshal(userJSON, user); err != nil {
			return
		}
		in := Input{Version: list.Versions[int(profile)%len(list.Versions)], Profile: profiles[int(profile)%len(profiles)],
			Platform: PlatformKubernetes, User: user, Revision: "canary", Namespace: "istio-system"}
		if openshift {
			in.Platform = PlatformOpenShift
		}
		if defaultRevision {
			in.Revision = sailv1.DefaultRevision
		}
		got, err := ForRevision(in)
		if err != nil {
			return
		}
		checkRevisionValues(t, in, got)
	})
}

// checkRevisionValues checks the result of ForRevision against its input.
func checkRevisionValues(t *testing.T, in Input, got *sailv1.Values) {
	t.Helper()
	merged, err := ToMap(got)
	if err != nil {
		t.Fatalf("the result does not encode: %v", err)
	}
	user, err := ToMap(in.User)
	if err != nil {
		t.Fatal(err)
	}
	valueLeaves(user, nil, func(path []string, v any) {
		if slices.Equal(path, []string{"revision"}) || slices.Equal(path, []string{"global", "istioNamespace"}) {
			return
		}
		if have, ok := at(merged, path...); !ok || !reflect.DeepEqual(have, v) {
			t.Fatalf("user value %s = %v is %v in the result", path, v, have)
		}
	})
	wantRevision := in.Revision
	if wantRevision == sailv1.DefaultRevision {
		wantRevision = ""
	}
	if rev, _ := at(merged, "revision"); wantRevision != "" && rev != wantRevision {
		t.Fatalf("revision = %v, want %s", rev, wantRevision)
	}
	if ns, _ := at(merged, "global", "istioNamespace"); ns != in.Namespace {
		t.Fatalf("global.istioNamespace = %v, want %s", ns, in.Namespace)
	}
	again, err := FromMap(merged)
	if err != nil {
		t.Fatalf("the result does not decode again: %v", err)
	}
	if round, _ := ToMap(again); !reflect.DeepEqual(round, merged) {
		t.Fatal("the result changes in a round trip through the values schema")
	}
}
