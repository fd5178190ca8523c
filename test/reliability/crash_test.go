package reliability

import (
	"context"
	"sort"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

const (
	crashIstio   = "crash"
	crashNS      = "crash-system"
	crashApps    = "crash-apps"   // istio.io/rev=<old revision>: moved by updateWorkloads
	crashTagged  = "crash-tagged" // istio.io/rev=stable: follows the tag
	crashOld     = "crash-v1-30-0"
	crashNew     = "crash-v1-31-0"
	crashTag     = "stable"
	crashAppsN   = 4
	crashTaggedN = 2
)

// crashPhases are the phases of the scenario, in order.
var crashPhases = []string{"install", "canary", "retarget", "delete"}

// crashBounds are the fewest operator writes each phase sends when nothing kills the operator (measured; a kill
// point is drawn from [1, bound], so it is always reached).
var crashBounds = map[string]int{"install": 40, "canary": 30, "retarget": 10, "delete": 20}

// TestCrash_KillAtRandomWrites runs an install, a canary upgrade with workload migration, a tag retarget and a
// delete, and kills the operator (SIGKILL) right after randomly chosen writes of each (see killPlan), starting a
// fresh operator each time. After each phase the cluster must have converged to what the phase asks, the live
// objects Sail applied must be exactly those its status inventories list, and the istiod Deployment of a serving
// revision must never have been missing.
func TestCrash_KillAtRandomWrites(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	plan := killPlan(t, crashPhases, crashBounds)
	injector, err := framework.StartInjector(ctx, c)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(injector.Stop)
	createNamespace(t, crashNS, nil)
	createNamespace(t, crashApps, map[string]string{"istio.io/rev": crashOld})
	createNamespace(t, crashTagged, map[string]string{"istio.io/rev": crashTag})
	k := newKiller(t)
	serving := newServingMonitor(t, crashNS)
	t.Cleanup(func() { deleteIstio(t, crashIstio) })

	k.phase("install", plan["install"], func() { createCrashIstio(t, injector.URL()) }, func(g Gomega) {
		istioReady(g, crashIstio, crashOld)
		expectTag(g, crashOld)
		expectRevisions(g, crashOld)
		converged(g, "istiod-"+crashOld)
	})
	serving.expect("istiod-" + crashOld)
	createDeployments(t, crashApps, crashAppsN)
	createDeployments(t, crashTagged, crashTaggedN)
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, crashApps, crashTagged) }, waitFor).
		Should(Equal(map[string]int{crashOld: crashAppsN + crashTaggedN}), "every pod runs the old revision")

	k.phase("canary", plan["canary"], func() { setIstio(t, func(i *sailv1.Istio) { i.Spec.Version = "v1.31.0" }) }, func(g Gomega) {
		istioReady(g, crashIstio, crashNew)
		g.Expect(framework.PodsByRevision(ctx, c, crashApps)).To(Equal(map[string]int{crashNew: crashAppsN}), "the workloads moved")
		expectRevisions(g, crashOld, crashNew) // the old one stays: the tag still points at it
		converged(g, "istiod-"+crashOld, "istiod-"+crashNew)
	})
	k.phase("retarget", plan["retarget"], func() {
		serving.expect("istiod-" + crashNew) // the old revision may go once the tag leaves it
		retargetTag(t)
	}, func(g Gomega) {
		expectTag(g, crashNew)
		expectRevisions(g, crashNew) // the old one, no longer used, is pruned
		converged(g, "istiod-"+crashNew)
	})
	serving.expect("istiod-" + crashNew)

	k.phase("delete", plan["delete"], func() {
		serving.expect()
		g.Expect(c.Delete(ctx, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: crashTag}})).To(Succeed())
		g.Expect(c.Delete(ctx, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: crashIstio}})).To(Succeed())
	}, func(g Gomega) {
		g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: crashIstio}, &sailv1.Istio{}))).To(BeTrue(), "the Istio is gone")
		g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: crashTag}, &sailv1.IstioRevisionTag{}))).To(BeTrue(), "the tag is gone")
		expectRevisions(g)
		converged(g)
	})
	g.Expect(serving.Violations()).To(BeEmpty(), "a serving istiod Deployment was missing")
	t.Logf("FIGURE crash: %d kill points survived: %v", len(k.killed), k.killed)
}

func createCrashIstio(t *testing.T, injectionURL string) {
	ctx := context.Background()
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: crashIstio}, Spec: sailv1.IstioSpec{
		Version: "v1.30.0", Namespace: crashNS,
		UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased, UpdateWorkloads: true,
			InactiveRevisionDeletionGracePeriodSeconds: ptr.To[int64](2),
			WorkloadMigration:                          &sailv1.WorkloadMigrationConfig{DelayBetweenBatchesSeconds: ptr.To[int32](0)}},
		Values: &sailv1.Values{IstiodRemote: &sailv1.IstiodRemoteConfig{InjectionURL: injectionURL}},
	}}
	tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: crashTag}, Spec: sailv1.IstioRevisionTagSpec{
		TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioRevisionKind, Name: crashOld}}}
	g := NewWithT(t)
	g.Expect(cluster.Client.Create(ctx, istio)).To(Succeed())
	g.Expect(cluster.Client.Create(ctx, tag)).To(Succeed())
}

func setIstio(t *testing.T, change func(*sailv1.Istio)) {
	ctx := context.Background()
	istio := &sailv1.Istio{}
	g := NewWithT(t)
	g.Expect(cluster.Client.Get(ctx, client.ObjectKey{Name: crashIstio}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	change(istio)
	g.Expect(cluster.Client.Patch(ctx, istio, patch)).To(Succeed())
}

// retargetTag points the tag, pinned to the old revision, at the Istio (so at its active revision).
func retargetTag(t *testing.T) {
	ctx := context.Background()
	tag := &sailv1.IstioRevisionTag{}
	g := NewWithT(t)
	g.Expect(cluster.Client.Get(ctx, client.ObjectKey{Name: crashTag}, tag)).To(Succeed())
	patch := client.MergeFrom(tag.DeepCopy())
	tag.Spec.TargetRef = sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: crashIstio}
	g.Expect(cluster.Client.Patch(ctx, tag, patch)).To(Succeed())
}

// expectTag fails unless the tag reconciled and points at rev.
func expectTag(g Gomega, rev string) {
	tag := &sailv1.IstioRevisionTag{}
	g.Expect(cluster.Client.Get(context.Background(), client.ObjectKey{Name: crashTag}, tag)).To(Succeed())
	g.Expect(meta.IsStatusConditionTrue(tag.Status.Conditions, sailv1.ConditionReconciled)).To(BeTrue(), "the tag reconciled: %+v", tag.Status.Conditions)
	g.Expect(tag.Status.IstioRevision).To(Equal(rev))
}

// expectRevisions fails unless the IstioRevisions are exactly names.
func expectRevisions(g Gomega, names ...string) {
	revs := &sailv1.IstioRevisionList{}
	g.Expect(cluster.Client.List(context.Background(), revs)).To(Succeed())
	var got []string
	for _, r := range revs.Items {
		got = append(got, r.Name)
	}
	sort.Strings(got)
	g.Expect(got).To(equalList(names))
}

// converged fails unless the istiod Deployments are exactly istiods and the live objects match the inventories.
func converged(g Gomega, istiodNames ...string) {
	g.Expect(istiods(g, crashNS)).To(equalList(istiodNames), "one istiod per revision, no duplicate")
	g.Expect(cluster.CheckInventory(context.Background())).To(Succeed())
}

// equalList matches a list equal to want, any empty list when want is empty.
func equalList(want []string) types.GomegaMatcher {
	if len(want) == 0 {
		return BeEmpty()
	}
	return Equal(want)
}
