package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

// nodeAgentReady returns "True: ..." once the IstioCNI or ZTunnel obj is ready for its current spec.
func nodeAgentReady(ctx context.Context, c client.Client, obj client.Object, status func() (int64, []metav1.Condition)) func() string {
	return func() string {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err.Error()
		}
		observed, conds := status()
		cond := meta.FindStatusCondition(conds, sailv1.ConditionReady)
		if cond == nil || observed != obj.GetGeneration() {
			return "pending"
		}
		return string(cond.Status) + ": " + cond.Message
	}
}

func daemonSetEnv(ds *appsv1.DaemonSet, name string) string {
	for _, c := range ds.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// sailDaemonSets lists the DaemonSets Sail applied, cluster-wide.
func sailDaemonSets(ctx context.Context, c client.Client) []string {
	list := &appsv1.DaemonSetList{}
	if err := c.List(ctx, list, client.MatchingLabels{apply.LabelManagedBy: apply.LabelManagedByValue}); err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, ds := range list.Items {
		out = append(out, ds.Namespace+"/"+ds.Name)
	}
	return out
}

func TestAmbient_IstioCNIZTunnelAndCanary(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	op, err := cluster.StartOperator(t.TempDir(), "operator")
	g.Expect(err).NotTo(HaveOccurred())
	defer op.Stop()
	defer op.DumpLogOnFailure(t)

	for _, name := range []string{"istio-cni", "ztunnel", "ambient-system"} {
		g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}))).To(Succeed())
	}
	cni := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: sailv1.IstioCNIName}, Spec: sailv1.IstioCNISpec{Profile: "ambient"}}
	zt := &sailv1.ZTunnel{ObjectMeta: metav1.ObjectMeta{Name: sailv1.ZTunnelName}, Spec: sailv1.ZTunnelSpec{
		TargetRef: &sailv1.ZTunnelTargetRef{Kind: sailv1.IstioKind, Name: "ambient"}}}
	// istiod trusts ztunnel's identity only in the namespace it is told (its own by default).
	trustZTunnel := &sailv1.PilotConfig{TrustedZtunnelNamespace: "ztunnel"}
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "ambient"}, Spec: sailv1.IstioSpec{
		Namespace: "ambient-system", Profile: "ambient",
		Values: &sailv1.Values{Global: &sailv1.GlobalConfig{Network: "net1"}, Pilot: trustZTunnel}}}
	canary := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "ambient-canary"}, Spec: sailv1.IstioSpec{
		Namespace: "ambient-system", Profile: "ambient", Values: &sailv1.Values{Pilot: trustZTunnel},
		UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased}}}
	defer func() {
		// Leave the cluster as other tests expect it, even when this one failed half-way.
		for _, o := range []client.Object{zt, cni, canary, istio} {
			_ = client.IgnoreNotFound(c.Delete(ctx, o))
		}
		for _, o := range []client.Object{zt, cni, canary, istio} {
			g.Eventually(func() bool { return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(o), o)) }, waitFor).
				Should(BeTrue(), "%s is deleted", o.GetName())
		}
	}()

	start := time.Now()
	for _, o := range []client.Object{cni, zt, istio} {
		g.Expect(c.Create(ctx, o)).To(Succeed())
	}
	cniReady := nodeAgentReady(ctx, c, cni, func() (int64, []metav1.Condition) { return cni.Status.ObservedGeneration, cni.Status.Conditions })
	ztReady := nodeAgentReady(ctx, c, zt, func() (int64, []metav1.Condition) { return zt.Status.ObservedGeneration, zt.Status.Conditions })
	g.Eventually(cniReady, waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	g.Eventually(ztReady, waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	g.Eventually(readyStatus(ctx, c, "ambient"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	t.Logf("IstioCNI, ZTunnel and Istio Ready %s after creation", time.Since(start).Round(time.Millisecond))

	ztKey := client.ObjectKey{Namespace: "ztunnel", Name: "ztunnel"}
	ds := &appsv1.DaemonSet{}
	t.Run("the node agents run on every node", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, ztKey, ds)).To(Succeed())
		g.Expect(ds.Status.NumberReady).To(BeNumerically(">=", 3), "kwok runs ztunnel's pods")
		cniDS := &appsv1.DaemonSet{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "istio-cni", Name: "istio-cni-node"}, cniDS)).To(Succeed())
		g.Expect(cniDS.Status.NumberReady).To(BeNumerically(">=", 3))
		g.Expect(cniDS.Spec.Template.Spec.Containers[0].Image).To(Equal("docker.io/istio/install-cni:1.31.0-distroless"))
	})

	t.Run("the Istio's network reaches ztunnel through targetRef", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, ztKey, ds)).To(Succeed())
		g.Expect(daemonSetEnv(ds, "NETWORK")).To(Equal("net1"))
		g.Expect(daemonSetEnv(ds, "XDS_ADDRESS")).To(Equal("istiod-ambient.ambient-system.svc:15012"))
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(zt), zt)).To(Succeed())
		g.Expect(zt.Status.IstioRevision).To(Equal("ambient"))
		istiod := &appsv1.Deployment{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "ambient-system", Name: "istiod-ambient"}, istiod)).To(Succeed())
		g.Expect(deploymentEnv(istiod, "CA_TRUSTED_NODE_ACCOUNTS")).To(Equal("ztunnel/ztunnel"), "istiod trusts this ztunnel")
	})

	t.Run("the control plane's dependencies are healthy", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(func() string {
			_ = c.Get(ctx, client.ObjectKeyFromObject(istio), istio)
			if cond := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionDependenciesHealthy); cond != nil {
				return string(cond.Status) + "/" + cond.Reason
			}
			return "unset"
		}, waitFor).Should(Equal("True/" + sailv1.ReasonHealthy))
	})

	t.Run("a ZTunnel value wins over the Istio's", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(zt), zt)).To(Succeed())
		patch := client.MergeFrom(zt.DeepCopy())
		zt.Spec.Values = &sailv1.ZTunnelValues{Global: &sailv1.GlobalConfig{Network: "net2"}}
		g.Expect(c.Patch(ctx, zt, patch)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, ztKey, ds)
			return daemonSetEnv(ds, "NETWORK")
		}, waitFor).Should(Equal("net2"))
		g.Eventually(ztReady, waitFor, 250*time.Millisecond).Should(HavePrefix("True"), "the rollout finishes")
	})

	t.Run("an ambient canary shares the single istio-cni and ztunnel DaemonSets", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Create(ctx, canary)).To(Succeed())
		g.Eventually(readyStatus(ctx, c, "ambient-canary"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
		g.Expect(sailDaemonSets(ctx, c)).To(ConsistOf("istio-cni/istio-cni-node", "ztunnel/ztunnel"))
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(canary), canary)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(canary.Status.Conditions, sailv1.ConditionDependenciesHealthy)).To(BeTrue(),
			"the canary uses the same node agents")

		// Moving ztunnel to the canary's active revision.
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(canary), canary)).To(Succeed())
		active := canary.Status.ActiveRevisionName
		g.Expect(active).NotTo(BeEmpty())
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(zt), zt)).To(Succeed())
		patch := client.MergeFrom(zt.DeepCopy())
		zt.Spec.TargetRef = &sailv1.ZTunnelTargetRef{Kind: sailv1.IstioKind, Name: "ambient-canary"}
		g.Expect(c.Patch(ctx, zt, patch)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, ztKey, ds)
			return daemonSetEnv(ds, "XDS_ADDRESS")
		}, waitFor).Should(Equal("istiod-" + active + ".ambient-system.svc:15012"))
		g.Eventually(ztReady, waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(zt), zt)).To(Succeed())
		g.Expect(zt.Status.IstioRevision).To(Equal(active))
		g.Expect(sailDaemonSets(ctx, c)).To(ConsistOf("istio-cni/istio-cni-node", "ztunnel/ztunnel"))
	})

	t.Run("a deleted ztunnel DaemonSet is recreated", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, ztKey, ds)).To(Succeed())
		g.Expect(c.Delete(ctx, ds)).To(Succeed())
		g.Eventually(func() bool {
			fresh := &appsv1.DaemonSet{}
			return c.Get(ctx, ztKey, fresh) == nil && fresh.UID != ds.UID
		}, waitFor).Should(BeTrue())
		g.Eventually(ztReady, waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	})

	t.Run("deleting the IstioCNI and ZTunnel leaves no DaemonSet behind", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Delete(ctx, zt)).To(Succeed())
		g.Expect(c.Delete(ctx, cni)).To(Succeed())
		g.Eventually(func() []string { return sailDaemonSets(ctx, c) }, waitFor).Should(BeEmpty())
		// Both are named default: this finds what either applied.
		g.Eventually(func() []string { return managedObjects(ctx, c, sailv1.IstioCNIName) }, waitFor).Should(BeEmpty())
	})
}
