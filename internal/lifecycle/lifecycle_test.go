package lifecycle

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/status"
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
		g.Expect(meta.IsStatusConditionTrue(conds, status.ConditionReconciling)).To(BeTrue())
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
