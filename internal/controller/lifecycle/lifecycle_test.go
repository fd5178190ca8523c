package lifecycle

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

func TestKey(t *testing.T) {
	g := NewWithT(t)
	cni := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{UID: types.UID("u1"), Generation: 3}}
	g.Expect(Key(cni)).To(Equal("u1/3"))
	g.Expect(Key(cni, "rev", "7")).To(Equal("u1/3/rev/7"))
}

func TestOutcome_SetConditions(t *testing.T) {
	t.Run("a failure sets Reconciled and Ready False and keeps the first reason", func(t *testing.T) {
		g := NewWithT(t)
		var conds []metav1.Condition
		o := &Outcome{}
		o.Fail(sailv1.ReasonNamespaceNotFound, errors.New("no namespace"))
		o.Fail(sailv1.ReasonReconcileError, errors.New("later"))
		g.Expect(o.SetConditions(&conds, 2)).To(Equal(sailv1.StateReconcileError))
		rec := meta.FindStatusCondition(conds, sailv1.ConditionReconciled)
		g.Expect(rec.Reason).To(Equal(sailv1.ReasonNamespaceNotFound))
		g.Expect(rec.Message).To(Equal("no namespace"))
		g.Expect(rec.ObservedGeneration).To(Equal(int64(2)))
		g.Expect(meta.IsStatusConditionFalse(conds, sailv1.ConditionReady)).To(BeTrue())
		g.Expect(meta.IsStatusConditionTrue(conds, status.ConditionStalled)).To(BeTrue(), "a missing namespace needs the user")
		g.Expect(meta.FindStatusCondition(conds, status.ConditionReconciling)).To(BeNil())
	})

	t.Run("a retryable failure is Reconciling", func(t *testing.T) {
		g := NewWithT(t)
		var conds []metav1.Condition
		o := &Outcome{}
		o.Fail(sailv1.ReasonReconcileError, errors.New("conflict"))
		o.SetConditions(&conds, 1)
		g.Expect(meta.IsStatusConditionTrue(conds, status.ConditionReconciling)).To(BeTrue())
		g.Expect(meta.FindStatusCondition(conds, status.ConditionStalled)).To(BeNil())
	})

	t.Run("applied and not ready is NotReady", func(t *testing.T) {
		g := NewWithT(t)
		var conds []metav1.Condition
		o := &Outcome{Applied: "ztunnel v1.31.0", ReadyMessage: "DaemonSet ztunnel/ztunnel is not ready."}
		g.Expect(o.SetConditions(&conds, 1)).To(Equal(sailv1.StateNotReady))
		g.Expect(meta.FindStatusCondition(conds, sailv1.ConditionReconciled).Message).To(Equal("ztunnel v1.31.0 is applied."))
		g.Expect(meta.FindStatusCondition(conds, sailv1.ConditionReady).Message).To(Equal("DaemonSet ztunnel/ztunnel is not ready."))
	})

	t.Run("applied and ready is Healthy, without kstatus conditions", func(t *testing.T) {
		g := NewWithT(t)
		var conds []metav1.Condition
		o := &Outcome{Applied: "istio-cni v1.31.0", Ready: true, ReadyMessage: "ready"}
		g.Expect(o.SetConditions(&conds, 1)).To(Equal(sailv1.StateHealthy))
		g.Expect(meta.FindStatusCondition(conds, status.ConditionReconciling)).To(BeNil())
		g.Expect(meta.FindStatusCondition(conds, status.ConditionStalled)).To(BeNil())
	})

	t.Run("a render error stalls", func(t *testing.T) {
		g := NewWithT(t)
		var conds []metav1.Condition
		o := &Outcome{}
		o.Fail(sailv1.ReasonRenderError, errors.New("bad values"))
		o.SetConditions(&conds, 1)
		g.Expect(meta.IsStatusConditionTrue(conds, status.ConditionStalled)).To(BeTrue())
	})
}

func TestCheckNamespace(t *testing.T) {
	s := runtime.NewScheme()
	_ = corev1.AddToScheme(s)
	now := metav1.Now()
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ok"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "going", DeletionTimestamp: &now, Finalizers: []string{"kubernetes"}}},
	).Build()
	for name, want := range map[string]string{"ok": "", "going": sailv1.ReasonNamespaceTerminating, "absent": sailv1.ReasonNamespaceNotFound} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			reason, msg, err := CheckNamespace(context.Background(), c, name)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(reason).To(Equal(want))
			if want != "" {
				g.Expect(msg).To(ContainSubstring(name))
			}
		})
	}
}

func TestFinalize_DeletesOnceEvenWhenTheCacheLags(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	scheme := runtime.NewScheme()
	g.Expect(corev1.AddToScheme(scheme)).To(Succeed())
	g.Expect(sailv1.AddToScheme(scheme)).To(Succeed())
	const finalizer = "sailoperator.io/test-cleanup"
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "applied"}}
	cni := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: "default", UID: "u1", Finalizers: []string{finalizer}}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cm, cni).WithStatusSubresource(cni).Build()
	g.Expect(c.Delete(ctx, cni)).To(Succeed()) // held by the finalizer
	stale := &sailv1.IstioCNI{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(cni), stale)).To(Succeed())
	stale.Status.Inventory = []sailv1.InventoryEntry{{ID: "ns_applied__ConfigMap", Version: "v1"}}
	applier := apply.NewApplier(c, c, scheme, "test")
	l := &Lifecycle{Client: c, Applier: applier, Finalizer: finalizer}
	noRender := func() ([]*unstructured.Unstructured, error) { return nil, errors.New("no inputs") }

	g.Expect(l.Finalize(ctx, stale.DeepCopy(), &stale.DeepCopy().Status.Inventory, "ns", noRender)).To(Succeed())
	g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}))).To(BeTrue(), "the applied object is deleted")
	g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(cni), &sailv1.IstioCNI{}))).To(BeTrue(), "the finalizer is removed")
	deletes := applier.Stats().Deletes
	g.Expect(deletes).To(Equal(int64(1)))

	// A reconcile that still sees the old copy (with the finalizer) sends no delete again.
	g.Expect(l.Finalize(ctx, stale.DeepCopy(), &stale.DeepCopy().Status.Inventory, "ns", noRender)).To(Succeed())
	g.Expect(applier.Stats().Deletes).To(Equal(deletes))
}
