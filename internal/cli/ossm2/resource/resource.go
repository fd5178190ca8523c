// Package resource holds the objects the OpenShift Service Mesh 2 conversion generates: unstructured objects with a
// comment saying where they come from, how they are built, and how they are written out (a YAML stream, or one
// file per object).
package resource

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sail-mesh/sail/internal/cli/ossm2/strict"
)

// Object is a generated object and a comment saying where it comes from.
type Object struct {
	*unstructured.Unstructured
	// Comment is written above the object in YAML output.
	Comment string
}

// Ref returns the object's reference.
func (o Object) Ref() Ref {
	return Ref{APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
}

// Ref identifies a generated object.
type Ref struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// String renders the reference as "Kind namespace/name" (or less, when the namespace or name is empty).
func (r Ref) String() string {
	switch {
	case r.Kind == "":
		return ""
	case r.Name == "":
		return r.Kind
	case r.Namespace == "":
		return r.Kind + " " + r.Name
	default:
		return r.Kind + " " + r.Namespace + "/" + r.Name
	}
}

// New returns an object with only its type and name set; namespace may be empty.
func New(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetName(name)
	if namespace != "" {
		u.SetNamespace(namespace)
	}
	return u
}

// FromTyped converts a typed object, without status and creation timestamp.
func FromTyped(obj any) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// JSONValue converts a typed value to its JSON tree form (maps, lists, json.Number), to place it inside an object
// being built; nil when it cannot be encoded.
func JSONValue(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	out, err := strict.Tree(data)
	if err != nil {
		return nil
	}
	return out
}

// Normalize converts a tree to the types a JSON decoder produces (int64 for integers, float64 for other numbers),
// which is what unstructured objects must hold. It panics when the tree cannot be encoded as JSON.
func Normalize(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("generated object cannot be encoded: %v", err))
	}
	tree, err := strict.Tree(data)
	if err != nil {
		panic(fmt.Sprintf("generated object cannot be decoded: %v", err))
	}
	return numbersToGo(tree)
}

func numbersToGo(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = numbersToGo(e)
		}
	case []any:
		for i, e := range t {
			t[i] = numbersToGo(e)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}
