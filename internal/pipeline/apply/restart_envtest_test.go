package apply_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// istiodObjects renders the istiod chart of the newest version as the operator does for a revision named default,
// without CRDs, prepared for owner.
func istiodObjects(t *testing.T, a *apply.Applier, owner apply.Owner) []*unstructured.Unstructured {
	t.Helper()
	g := NewWithT(t)
	v := versions.Default().Newest()
	vals, err := values.ForRevision(values.Input{Version: v, Revision: "default", Namespace: "istio-system"})
	g.Expect(err).NotTo(HaveOccurred())
	m, err := values.ToMap(vals)
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := render.New(nil).Render(render.Input{Version: v.Name, Chart: versions.ChartIstiod, Release: "default",
		Namespace: "istio-system", Values: values.ForIstiodChart(m)})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(a.Prepare(objs, owner, "istio-system")).To(Succeed())
	return objs
}

// TestApply_ARestartedApplierSendsNoWriteForUnchangedObjects checks that an Applier that remembers nothing (the
// operator after a restart) adopts the live objects it applied before without a request, and still repairs an
// object changed while it was away, with exactly one request.
func TestApply_ARestartedApplierSendsNoWriteForUnchangedObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	owner := env.CreateNamespace(t, "istio-system")
	fresh := func() *apply.Applier {
		return apply.NewApplier(env.Client, env.Client, env.Client.Scheme(), "sail-test")
	}

	first := fresh()
	objs := istiodObjects(t, first, owner)
	_, err := first.Apply(ctx, objs)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.Stats().Applies).To(Equal(int64(len(objs))))

	restarted := fresh()
	changes, err := restarted.Apply(ctx, istiodObjects(t, restarted, owner))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(restarted.Stats().Applies).To(BeZero(), "changes: %v", changes)
	g.Expect(restarted.Stats().Skipped).To(Equal(int64(len(objs))))

	// While no operator runs, someone edits the mesh config: the next operator puts it back, with one request.
	cm := &corev1.ConfigMap{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "istio"}, cm)).To(Succeed())
	want := cm.Data["mesh"]
	cm.Data["mesh"] = "defaultConfig: {}\n"
	g.Expect(env.Client.Update(ctx, cm, client.FieldOwner("kubectl-edit"))).To(Succeed())

	again := fresh()
	_, err = again.Apply(ctx, istiodObjects(t, again, owner))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.Stats().Applies).To(Equal(int64(1)))
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(cm), cm)).To(Succeed())
	g.Expect(cm.Data["mesh"]).To(Equal(want))
}
