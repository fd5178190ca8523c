// Package objectid identifies rendered objects and digests their content: the namespace_name_group_kind ID that
// inventories and caches key objects by, and the content hash that render records on every object and apply
// compares with the live copy. Render and apply both use it, so neither imports the other for it.
package objectid

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
)

// AnnotationHash is the annotation that carries a digest of the object as Sail last applied it.
const AnnotationHash = "sailoperator.io/applied-hash"

// ID identifies an object as namespace_name_group_kind.
func ID(u *unstructured.Unstructured) string {
	return IDOf(u.GetNamespace(), u.GetName(), u.GroupVersionKind().GroupKind())
}

// IDOf is the ID of the object of kind gk named namespace/name.
func IDOf(namespace, name string, gk schema.GroupKind) string {
	return namespace + "_" + name + "_" + gk.Group + "_" + gk.Kind
}

// IDs returns the IDs of objs as a set.
func IDs(objs []*unstructured.Unstructured) sets.Set[string] {
	out := sets.New[string]()
	for _, u := range objs {
		out.Insert(ID(u))
	}
	return out
}

// Hash returns a digest of an object's content, ignoring the hash annotation itself.
func Hash(u *unstructured.Unstructured) (string, error) {
	c := u.DeepCopy()
	annotations := c.GetAnnotations()
	delete(annotations, AnnotationHash)
	if len(annotations) == 0 {
		annotations = nil
	}
	c.SetAnnotations(annotations)
	data, err := json.Marshal(c.Object)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12]), nil
}

// SetContentHash records the digest of an object's content in its hash annotation, so that apply need not encode
// the object again; renderers call it once per rendered object.
func SetContentHash(u *unstructured.Unstructured) error {
	h, err := Hash(u)
	if err != nil {
		return err
	}
	SetHash(u, h)
	return nil
}

// SetHash sets the object's hash annotation to h.
func SetHash(u *unstructured.Unstructured, h string) {
	annotations := u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationHash] = h
	u.SetAnnotations(annotations)
}

// Digest returns a short digest of parts, e.g. of a content hash and the inputs that changed the object after it.
func Digest(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:12])
}
