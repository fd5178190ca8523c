package framework

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/manifest"
)

// SampleObjects reads a sample manifest (a path under the repository's root, e.g.
// config/samples/multicluster/...), each ${NAME} replaced by vars[NAME]; a name vars does not give fails the test.
func SampleObjects(t *testing.T, path string, vars map[string]string) []*unstructured.Unstructured {
	t.Helper()
	g := NewWithT(t)
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), path))
	g.Expect(err).NotTo(HaveOccurred())
	text := os.Expand(string(data), func(name string) string {
		v, ok := vars[name]
		g.Expect(ok).To(BeTrue(), "%s uses ${%s}", path, name)
		return v
	})
	objs, err := manifest.Parse([]byte(text))
	g.Expect(err).NotTo(HaveOccurred(), path)
	return objs
}

// ApplySample applies the objects of a sample manifest (SampleObjects) with server-side apply, each one first
// passed to edit when not nil (e.g. to pin the Istio version the test has binaries of).
func (c *Cluster) ApplySample(t *testing.T, path string, vars map[string]string, edit func(*unstructured.Unstructured)) {
	t.Helper()
	for _, u := range SampleObjects(t, path, vars) {
		if edit != nil {
			edit(u)
		}
		NewWithT(t).Expect(c.Client.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u),
			client.FieldOwner("sail-e2e"), client.ForceOwnership)).To(Succeed(), "%s: %s %s", path, u.GetKind(), u.GetName())
	}
}

// ReadIstioSample returns the one Istio of a sample manifest (SampleObjects).
func ReadIstioSample(t *testing.T, path string, vars map[string]string) *sailv1.Istio {
	t.Helper()
	objs := SampleObjects(t, path, vars)
	g := NewWithT(t)
	g.Expect(objs).To(HaveLen(1), "%s holds one object", path)
	g.Expect(objs[0].GetKind()).To(Equal(sailv1.IstioKind), path)
	istio := &sailv1.Istio{}
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(objs[0].Object, istio, true)).To(Succeed(), path)
	return istio
}
