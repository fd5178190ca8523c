package ztunnel_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

const timeout = testenv.Timeout

func condition(c client.Client, condType string) func() string {
	return testenv.ConditionOf(c, &sailv1.ZTunnel{ObjectMeta: metav1.ObjectMeta{Name: sailv1.ZTunnelName}}, condType)
}

func TestZTunnel_Lifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "ztunnel")
	env.CreateNamespace(t, "istio-system")

	t.Run("a name other than default is rejected at admission", func(t *testing.T) {
		g := NewWithT(t)
		err := c.Create(ctx, &sailv1.ZTunnel{ObjectMeta: metav1.ObjectMeta{Name: "other"}})
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		g.Expect(err.Error()).To(ContainSubstring("must be named default"))
	})

	zt := &sailv1.ZTunnel{ObjectMeta: metav1.ObjectMeta{Name: sailv1.ZTunnelName}, Spec: sailv1.ZTunnelSpec{
		TargetRef: &sailv1.ZTunnelTargetRef{Kind: sailv1.IstioKind, Name: "default"},
	}}
	g.Expect(c.Create(ctx, zt)).To(Succeed())
	g.Expect(zt.Spec.Version).To(Equal("v1.31.0"), "the version defaults to the newest")
	g.Expect(zt.Spec.Namespace).To(Equal("ztunnel"), "the namespace defaults to ztunnel")

	t.Run("a missing target is reported", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(condition(c, sailv1.ConditionReconciled), timeout).Should(Equal("False/" + sailv1.ReasonTargetNotFound))
		g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: "ztunnel", Name: "ztunnel"}, &appsv1.DaemonSet{}))).
			To(BeTrue(), "nothing is installed without the target's values")
	})

	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{
		Namespace: "istio-system", Profile: "ambient",
		Values: &sailv1.Values{Global: &sailv1.GlobalConfig{Network: "net1"}},
	}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())

	ds := &appsv1.DaemonSet{}
	key := client.ObjectKey{Namespace: "ztunnel", Name: "ztunnel"}
	t.Run("the target's values flow into ztunnel once it appears", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(condition(c, sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		g.Expect(c.Get(ctx, key, ds)).To(Succeed())
		g.Expect(testenv.ContainerEnv(ds, "NETWORK")).To(Equal("net1"), "global.network of the Istio")
		g.Expect(testenv.ContainerEnv(ds, "XDS_ADDRESS")).To(Equal("istiod.istio-system.svc:15012"), "the control plane's namespace")
		g.Expect(testenv.ContainerEnv(ds, "ISTIO_META_ENABLE_HBONE")).To(Equal("true"), "the ambient profile's meshConfig")
		g.Expect(ds.Spec.Template.Spec.Containers[0].Image).To(Equal("docker.io/istio/ztunnel:1.31.0-distroless"))
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(zt), zt)).To(Succeed())
		g.Expect(zt.Status.IstioRevision).To(Equal("default"))
	})

	t.Run("the ZTunnel's own values win", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(zt), zt)).To(Succeed())
		patch := client.MergeFrom(zt.DeepCopy())
		zt.Spec.Values = &sailv1.ZTunnelValues{Ztunnel: &sailv1.ZTunnelConfig{Network: "net2", Env: map[string]string{"SAIL_TEST": "one"}}}
		g.Expect(c.Patch(ctx, zt, patch)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, key, ds)
			return testenv.ContainerEnv(ds, "NETWORK") + "/" + testenv.ContainerEnv(ds, "SAIL_TEST")
		}, timeout).Should(Equal("net2/one"))
	})

	t.Run("a change of the target's values reaches ztunnel", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(istio), istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Spec.Values.Global.MultiCluster = &sailv1.MultiClusterConfig{ClusterName: "cluster-a"}
		g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, key, ds)
			return testenv.ContainerEnv(ds, "ISTIO_META_CLUSTER_ID")
		}, timeout).Should(Equal("cluster-a"))
	})

	t.Run("ztunnel is ready when its DaemonSet is", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(condition(c, sailv1.ConditionReady)()).To(Equal("False/" + sailv1.ReasonNotReady))
		g.Expect(c.Get(ctx, key, ds)).To(Succeed())
		g.Expect(testenv.MarkDaemonSetReady(ctx, c, key)).To(Succeed())
		g.Eventually(condition(c, sailv1.ConditionReady), timeout).Should(Equal("True/" + sailv1.ReasonReady))
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(zt), zt)).To(Succeed())
		g.Expect(zt.Status.State).To(Equal(sailv1.StateHealthy))
	})

	t.Run("a deleted DaemonSet is recreated", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, key, ds)).To(Succeed())
		old := ds.UID
		g.Expect(c.Delete(ctx, ds)).To(Succeed())
		g.Eventually(func() bool {
			fresh := &appsv1.DaemonSet{}
			return c.Get(ctx, key, fresh) == nil && fresh.UID != old
		}, timeout).Should(BeTrue())
		g.Eventually(condition(c, sailv1.ConditionReady), timeout).Should(Equal("False/" + sailv1.ReasonNotReady))
	})

	t.Run("a target that does not exist yet is reported, and picked up when it appears", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(zt), zt)).To(Succeed())
		patch := client.MergeFrom(zt.DeepCopy())
		zt.Spec.TargetRef = &sailv1.ZTunnelTargetRef{Kind: sailv1.IstioRevisionKind, Name: "canary"}
		g.Expect(c.Patch(ctx, zt, patch)).To(Succeed())
		g.Eventually(condition(c, sailv1.ConditionReconciled), timeout).Should(Equal("False/" + sailv1.ReasonTargetNotFound))
		canary := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "canary"}, Spec: sailv1.IstioSpec{
			Namespace: "istio-system", Profile: "ambient"}}
		g.Expect(c.Create(ctx, canary)).To(Succeed())
		g.Eventually(condition(c, sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		g.Expect(c.Get(ctx, key, ds)).To(Succeed())
		g.Expect(testenv.ContainerEnv(ds, "XDS_ADDRESS")).To(Equal("istiod-canary.istio-system.svc:15012"))
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(zt), zt)).To(Succeed())
		g.Expect(zt.Status.IstioRevision).To(Equal("canary"))
	})

	t.Run("two control planes share one ztunnel DaemonSet", func(t *testing.T) {
		g := NewWithT(t)
		list := &appsv1.DaemonSetList{}
		g.Expect(c.List(ctx, list, client.MatchingLabels{apply.LabelManagedBy: apply.LabelManagedByValue})).To(Succeed())
		var names []string
		for _, d := range list.Items {
			names = append(names, d.Namespace+"/"+d.Name)
		}
		g.Expect(names).To(ConsistOf("ztunnel/ztunnel"))
	})

	t.Run("deleting the ZTunnel removes everything it installed", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(zt), zt)).To(Succeed())
		inventory := zt.Status.Inventory
		g.Expect(inventory).To(ContainElements(
			sailv1.InventoryEntry{ID: "ztunnel_ztunnel_apps_DaemonSet", Version: "v1"},
			sailv1.InventoryEntry{ID: "ztunnel_ztunnel__ServiceAccount", Version: "v1"}))
		g.Expect(c.Delete(ctx, zt)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(zt), &sailv1.ZTunnel{}))
		}, timeout).Should(BeTrue())
		for _, e := range inventory {
			u, err := apply.EntryObject(e)
			g.Expect(err).NotTo(HaveOccurred())
			err = c.Get(ctx, client.ObjectKeyFromObject(u), u)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s should be deleted", e.ID)
		}
	})
}
