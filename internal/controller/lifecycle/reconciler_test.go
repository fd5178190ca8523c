package lifecycle

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

// testKind is a Kind of IstioCNIs whose Resolve and Refuse the tests choose.
type testKind struct {
	resolve  func(ctx context.Context, s *Scope[*sailv1.IstioCNI]) (Plan, error)
	refuse   error
	resolved int
}

func (k *testKind) NewObject() *sailv1.IstioCNI { return &sailv1.IstioCNI{} }

func (k *testKind) StatusOf(cni *sailv1.IstioCNI) Status {
	st := &cni.Status
	return Status{All: st, Conditions: &st.Conditions, ObservedGeneration: &st.ObservedGeneration, Inventory: &st.Inventory}
}

func (k *testKind) Refuse(*sailv1.IstioCNI) error { return k.refuse }

func (k *testKind) Resolve(ctx context.Context, s *Scope[*sailv1.IstioCNI]) (Plan, error) {
	k.resolved++
	return k.resolve(ctx, s)
}

func (k *testKind) SetStatus(_ context.Context, s *Scope[*sailv1.IstioCNI]) error {
	s.Obj.Status.State = s.ReconciledAndReady()
	return nil
}

func (k *testKind) Leftovers(context.Context, *sailv1.IstioCNI) (string, RenderFunc) {
	return "ns", func() ([]*unstructured.Unstructured, error) { return nil, errors.New("no inputs") }
}

const testFinalizer = "sailoperator.io/test-cleanup"

// startReconciler returns a Reconciler of kind over a fake client holding an IstioCNI named default (generation 2).
func startReconciler(t *testing.T, kind *testKind) (*Reconciler[*sailv1.IstioCNI], client.Client) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := sailv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cni := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: "default", Generation: 2}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cni).WithStatusSubresource(cni).Build()
	lc := &Lifecycle{Client: c, Scheme: scheme, Applier: apply.NewApplier(c, c, scheme, "test"), Finalizer: testFinalizer}
	return NewReconciler[*sailv1.IstioCNI](kind, lc), c
}

func reconcileDefault(r *Reconciler[*sailv1.IstioCNI], c client.Client) (*sailv1.IstioCNI, error) {
	ctx := context.Background()
	_, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKey{Name: "default"}})
	cni := &sailv1.IstioCNI{}
	if getErr := c.Get(ctx, client.ObjectKey{Name: "default"}, cni); getErr != nil {
		panic(getErr)
	}
	return cni, err
}

func TestReconciler_RunsThePhasesAndWritesTheStatus(t *testing.T) {
	g := NewWithT(t)
	rendered := 0
	kind := &testKind{resolve: func(context.Context, *Scope[*sailv1.IstioCNI]) (Plan, error) {
		return Plan{Applied: "test v1", Namespace: "ns", Ready: "All ready.",
			Render: func() ([]*unstructured.Unstructured, error) { rendered++; return nil, nil }}, nil
	}}
	r, c := startReconciler(t, kind)
	cni, err := reconcileDefault(r, c)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rendered).To(Equal(1))
	g.Expect(cni.Finalizers).To(ConsistOf(testFinalizer))
	g.Expect(meta.FindStatusCondition(cni.Status.Conditions, sailv1.ConditionReconciled).Message).To(Equal("test v1 is applied."))
	g.Expect(meta.FindStatusCondition(cni.Status.Conditions, sailv1.ConditionReady).Message).To(Equal("All ready."))
	g.Expect(cni.Status.State).To(Equal(sailv1.StateHealthy))
	g.Expect(cni.Status.ObservedGeneration).To(Equal(int64(2)))

	_, err = reconcileDefault(r, c)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rendered).To(Equal(1), "the desired objects are cached while the key does not change")
}

func TestReconciler_AFailureEndsThePhasesAndIsReported(t *testing.T) {
	g := NewWithT(t)
	kind := &testKind{resolve: func(_ context.Context, s *Scope[*sailv1.IstioCNI]) (Plan, error) {
		s.Outcome.Fail(sailv1.ReasonNamespaceNotFound, errors.New("no namespace"))
		return Plan{Render: func() ([]*unstructured.Unstructured, error) { panic("rendered after a failure") }}, nil
	}}
	r, c := startReconciler(t, kind)
	cni, err := reconcileDefault(r, c)
	g.Expect(err).NotTo(HaveOccurred(), "a watch brings the resource back")
	rec := meta.FindStatusCondition(cni.Status.Conditions, sailv1.ConditionReconciled)
	g.Expect(rec.Reason).To(Equal(sailv1.ReasonNamespaceNotFound))
	g.Expect(rec.Message).To(Equal("no namespace"))
	g.Expect(cni.Status.State).To(Equal(sailv1.StateReconcileError))
}

func TestReconciler_ATerminalErrorStaysTerminalWithTheStatusWritten(t *testing.T) {
	g := NewWithT(t)
	kind := &testKind{resolve: func(_ context.Context, s *Scope[*sailv1.IstioCNI]) (Plan, error) {
		s.Outcome.Fail(sailv1.ReasonInvalidSpec, errors.New("no such version"))
		return Plan{}, reconcile.TerminalError(errors.New("no such version"))
	}}
	r, c := startReconciler(t, kind)
	cni, err := reconcileDefault(r, c)
	g.Expect(errors.Is(err, reconcile.TerminalError(nil))).To(BeTrue(), "got %v", err)
	g.Expect(meta.IsStatusConditionTrue(cni.Status.Conditions, "Stalled")).To(BeTrue())
}

func TestReconciler_AnErrorNoPhaseRecordedKeepsTheStatus(t *testing.T) {
	g := NewWithT(t)
	kind := &testKind{resolve: func(context.Context, *Scope[*sailv1.IstioCNI]) (Plan, error) {
		return Plan{}, errors.New("the cache is not synced")
	}}
	r, c := startReconciler(t, kind)
	cni, err := reconcileDefault(r, c)
	g.Expect(err).To(MatchError("the cache is not synced"))
	g.Expect(cni.Status.Conditions).To(BeEmpty())
	g.Expect(cni.Status.ObservedGeneration).To(BeZero())
}

func TestReconciler_ARefusedResourceGetsNoFinalizer(t *testing.T) {
	g := NewWithT(t)
	kind := &testKind{refuse: errors.New("must be named default")}
	r, c := startReconciler(t, kind)
	cni, err := reconcileDefault(r, c)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(kind.resolved).To(BeZero())
	g.Expect(cni.Finalizers).To(BeEmpty())
	rec := meta.FindStatusCondition(cni.Status.Conditions, sailv1.ConditionReconciled)
	g.Expect(rec.Reason).To(Equal(sailv1.ReasonInvalidSpec))
	g.Expect(rec.Message).To(Equal("must be named default"))
}

func TestSoonest(t *testing.T) {
	g := NewWithT(t)
	none, one, two := ctrl.Result{}, ctrl.Result{RequeueAfter: time.Second}, ctrl.Result{RequeueAfter: 2 * time.Second}
	g.Expect(soonest(none, two)).To(Equal(two))
	g.Expect(soonest(two, none)).To(Equal(two))
	g.Expect(soonest(two, one)).To(Equal(one))
	g.Expect(soonest(one, two)).To(Equal(one))
	g.Expect(soonest(none, none)).To(Equal(none))
}

// TestReconciler_ForgetsAResourceWhoseFinalizerWasRemovedByHand checks that the desired objects cached for a
// resource are dropped when it is gone without Finalize having run (its finalizer removed by hand).
func TestReconciler_ForgetsAResourceWhoseFinalizerWasRemovedByHand(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	kind := &testKind{resolve: func(context.Context, *Scope[*sailv1.IstioCNI]) (Plan, error) {
		return Plan{Applied: "test v1", Namespace: "ns",
			Render: func() ([]*unstructured.Unstructured, error) { return nil, nil }}, nil
	}}
	r, c := startReconciler(t, kind)
	cni, err := reconcileDefault(r, c)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.lc.Cached()).To(Equal(1))

	patch := client.MergeFrom(cni.DeepCopy())
	cni.Finalizers = nil
	g.Expect(c.Patch(ctx, cni, patch)).To(Succeed())
	g.Expect(c.Delete(ctx, cni)).To(Succeed())
	_, err = r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKey{Name: "default"}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.lc.Cached()).To(BeZero(), "nothing stays cached for a resource that is gone")
}
