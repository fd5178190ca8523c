package istiocrds_test

import (
	"context"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/devtools/testenv"
	. "github.com/sail-mesh/sail/internal/mesh/istiocrds"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

// operatorReaders returns readers like the operator's (a cache that sees only objects labelled as Sail's, and the
// uncached client) and an applier that reads through that cache; the cache stops when the test ends.
func operatorReaders(t *testing.T, env *testenv.Env) (*apply.Applier, client.Reader, client.Reader) {
	t.Helper()
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(scheme))
	c, err := cache.New(env.Config, cache.Options{Scheme: scheme,
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{apply.LabelManagedBy: apply.LabelManagedByValue})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = c.Start(ctx) }()
	return apply.NewApplier(env.Client, c, scheme, "sail-operator"), c, env.Client
}

// liveVersions returns the Istio version each of Istio's CRDs comes from, by name.
func liveVersions(ctx context.Context, c client.Reader, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range names {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return nil, err
		}
		out[name] = InstalledVersion(crd).Version
	}
	return out, nil
}

// TestEnsure_ConcurrentVersionsEndWithTheNewer runs the CRD installation of two Istio versions at once, as two
// revisions of different versions reconciling at the same time do, several times over (first without CRDs, then
// from older CRDs that Sail installed, which the cache may show stale): every CRD must end at the newer version,
// whichever installation finishes last.
func TestEnsure_ConcurrentVersionsEndWithTheNewer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	var names []string
	for _, crd := range testenv.IstioCRDs(t, "v1.31.0") {
		names = append(names, crd.Name)
	}
	for round := range 3 {
		applier, cached, uncached := operatorReaders(t, env)
		inst := NewInstaller(applier, cached, uncached)
		for _, v := range []string{"v1.30.0", "v1.31.0"} {
			// Parse both first, so that both installations really run at once.
			g.Expect(inst.Preload(v)).To(Succeed())
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for n, v := range []string{"v1.30.0", "v1.31.0"} {
			wg.Go(func() { _, errs[n] = inst.Ensure(ctx, v) })
		}
		wg.Wait()
		g.Expect(errs).To(HaveEach(Succeed()), "round %d", round)
		got, err := liveVersions(ctx, env.Client, names)
		g.Expect(err).NotTo(HaveOccurred())
		for _, name := range names {
			g.Expect(got).To(HaveKeyWithValue(name, "v1.31.0"), "round %d: %s was downgraded", round, name)
		}
		installAs(t, env, "v1.30.0") // the next round races from older CRDs that Sail installed
	}
}

// TestEnsure_KeepsNewerCRDsOfOtherInstallers checks the comparison against every installer's version marker:
// CRDs that Helm installed from a newer Istio are kept, and so are those Sail itself made newer in this process;
// older ones are upgraded and taken over.
func TestEnsure_KeepsNewerCRDsOfOtherInstallers(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	helm := env.InstallIstioCRDsLikeHelm(t, "v1.31.0", "1.31.0")
	applier, cached, uncached := operatorReaders(t, env)
	inst := NewInstaller(applier, cached, uncached)

	res, err := inst.Ensure(ctx, "v1.30.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Kept).To(HaveLen(len(helm)))
	g.Expect(res.Kept).To(HaveEach(HaveField("By", ByHelm)))
	last, ok := inst.Last("v1.30.0")
	g.Expect(ok).To(BeTrue())
	g.Expect(last).To(Equal(res))
	names := make([]string, 0, len(helm))
	for _, crd := range helm {
		names = append(names, crd.Name)
	}
	got, err := liveVersions(ctx, env.Client, names)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(HaveEach("1.31.0"))

	res, err = inst.Ensure(ctx, "v1.31.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Kept).To(BeEmpty(), "the same version is taken over")
	got, err = liveVersions(ctx, env.Client, names)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(HaveEach("v1.31.0"))
}

// installAs applies the CRDs of version as Sail would have, labelled and annotated with that version, without
// any comparison: the state a later round of the race starts from.
func installAs(t *testing.T, env *testenv.Env, version string) {
	t.Helper()
	ctx := context.Background()
	for _, crd := range testenv.IstioCRDs(t, version) {
		crd.APIVersion, crd.Kind = "apiextensions.k8s.io/v1", "CustomResourceDefinition"
		crd.Labels = map[string]string{apply.LabelManagedBy: apply.LabelManagedByValue}
		crd.Annotations = map[string]string{AnnotationIstioVersion: version}
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: obj}
		unstructured.RemoveNestedField(u.Object, "status")
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		if err := env.Client.Patch(ctx, u, client.Apply, client.FieldOwner("sail-operator"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s: %v", crd.Name, err)
		}
	}
}

// TestEnsure_ACacheBehindItsOwnApplySendsNoSecondApply installs the CRDs through a cache that has not seen them yet
// (it never will: it watches no object, like the operator's cache in the moment after the CRDs were created) and
// installs them again: the second installation confirms them through the API server and sends no request, while
// a CRD deleted meanwhile is applied again.
func TestEnsure_ACacheBehindItsOwnApplySendsNoSecondApply(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	scheme := runtime.NewScheme()
	utilruntime.Must(apiextensionsv1.AddToScheme(scheme))
	lagging, err := cache.New(env.Config, cache.Options{Scheme: scheme,
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{"sail.test/never": "seen"})})
	g.Expect(err).NotTo(HaveOccurred())
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = lagging.Start(cctx) }()
	applier := apply.NewApplier(env.Client, lagging, scheme, "sail-operator")
	applier.UseAPIReader(env.Client)
	inst := NewInstaller(applier, lagging, env.Client)

	_, err = inst.Ensure(ctx, "v1.31.0")
	g.Expect(err).NotTo(HaveOccurred())
	crds := testenv.IstioCRDs(t, "v1.31.0")
	g.Expect(applier.Stats().Applies).To(Equal(int64(len(crds))))

	_, err = inst.Ensure(ctx, "v1.31.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(applier.Stats().Applies).To(Equal(int64(len(crds))), "the CRDs just applied are not applied again")

	g.Expect(env.Client.Delete(ctx, crds[0])).To(Succeed())
	g.Eventually(func() error {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(crds[0]), &apiextensionsv1.CustomResourceDefinition{})
	}).Should(MatchError(ContainSubstring("not found")))
	_, err = inst.Ensure(ctx, "v1.31.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(applier.Stats().Applies).To(Equal(int64(len(crds)+1)), "the deleted CRD is applied again")
}
