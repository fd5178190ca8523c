package lifecycle

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

// laggingClient reads IstioCNIs from a copy taken earlier while it lags, as a cache that has not seen the
// latest writes does; everything else goes to the API server.
type laggingClient struct {
	client.Client
	mu    sync.Mutex
	stale *sailv1.IstioCNI
}

func (c *laggingClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cni, ok := obj.(*sailv1.IstioCNI); ok && c.stale != nil {
		c.stale.DeepCopyInto(cni)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// startAPIServer starts kube-apiserver and etcd from bin/ with Sail's CRDs and returns a client to them.
func startAPIServer(t *testing.T, scheme *runtime.Scheme) client.Client {
	t.Helper()
	root := filepath.Join("..", "..", "..")
	env := &envtest.Environment{BinaryAssetsDirectory: filepath.Join(root, "bin"),
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the API server (run `make tools` for bin/): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func configMaps(names ...string) RenderFunc {
	return func() ([]*unstructured.Unstructured, error) {
		var out []*unstructured.Unstructured
		for _, n := range names {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion("v1")
			u.SetKind("ConfigMap")
			u.SetName(n)
			out = append(out, u)
		}
		return out, nil
	}
}

// TestReconciler_PrunesFromTheLastWrittenInventoryWhenTheCacheLags checks that a reconcile reading its resource
// from a cache that has not seen the last inventory write still prunes what that write recorded: nothing leaks.
func TestReconciler_PrunesFromTheLastWrittenInventoryWhenTheCacheLags(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	scheme := runtime.NewScheme()
	g.Expect(corev1.AddToScheme(scheme)).To(Succeed())
	g.Expect(sailv1.AddToScheme(scheme)).To(Succeed())
	api := startAPIServer(t, scheme)
	g.Expect(api.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}})).To(Succeed())
	g.Expect(api.Create(ctx, &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: sailv1.IstioCNIName}})).To(Succeed())

	c := &laggingClient{Client: api}
	render := configMaps()
	kind := &testKind{resolve: func(context.Context, *Scope[*sailv1.IstioCNI]) (Plan, error) {
		names := ""
		objs, _ := render()
		for _, o := range objs {
			names += o.GetName() + ","
		}
		return Plan{Applied: "test", Namespace: "ns", Key: []string{names}, Render: render}, nil
	}}
	r := NewReconciler[*sailv1.IstioCNI](kind, &Lifecycle{Client: c, Scheme: scheme,
		Applier: apply.NewApplier(api, api, scheme, "test"), Finalizer: testFinalizer})
	run := func() {
		_, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKey{Name: sailv1.IstioCNIName}})
		g.Expect(err).NotTo(HaveOccurred())
	}

	run() // the finalizer, an empty inventory
	before := &sailv1.IstioCNI{}
	g.Expect(api.Get(ctx, client.ObjectKey{Name: sailv1.IstioCNIName}, before)).To(Succeed())
	g.Expect(before.Finalizers).To(ContainElement(testFinalizer))

	render = configMaps("a", "b")
	run()
	g.Expect(api.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "b"}, &corev1.ConfigMap{})).To(Succeed())

	c.mu.Lock()
	c.stale = before // the cache has not seen the inventory that lists a and b
	c.mu.Unlock()
	render = configMaps("a")
	run()
	err := api.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "b"}, &corev1.ConfigMap{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "b, no longer rendered, is pruned although the cache lags: %v", err)
	after := &sailv1.IstioCNI{}
	g.Expect(api.Get(ctx, client.ObjectKey{Name: sailv1.IstioCNIName}, after)).To(Succeed())
	g.Expect(after.Status.Inventory).To(HaveLen(1), "only a is left")
}
