package apply_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

// TestAppliedGeneration checks that the manager remembers the generation the API server gave an applied
// Deployment, which readiness uses to ignore cached copies older than the apply.
func TestAppliedGeneration(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.CreateNamespace(t, "gen")
	m := apply.NewApplier(env.Client, env.Client, env.Client.Scheme(), "sail-test")
	deploy := func(image string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "d", "namespace": "gen"},
			"spec": map[string]any{
				"selector": map[string]any{"matchLabels": map[string]any{"app": "d"}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": map[string]any{"app": "d"}},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "c", "image": image}}},
				},
			},
		}}
	}
	g.Expect(m.AppliedGeneration(deploy("a"))).To(BeZero(), "nothing applied yet")
	_, err := m.Apply(ctx, []*unstructured.Unstructured{deploy("a")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.AppliedGeneration(deploy("a"))).To(Equal(int64(1)))
	_, err = m.Apply(ctx, []*unstructured.Unstructured{deploy("b")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.AppliedGeneration(deploy("b"))).To(Equal(int64(2)))
}
