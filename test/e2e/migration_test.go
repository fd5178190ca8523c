package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/workloads"
	"github.com/sail-mesh/sail/test/framework"
)

// createDeployments creates n one-replica Deployments named app-<i> in ns, changed by mutate when given.
func createDeployments(ctx context.Context, g Gomega, c client.Client, ns string, n int, mutate ...func(*appsv1.Deployment)) {
	for i := range n {
		labels := map[string]string{"app": fmt.Sprintf("app-%d", i)}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%d", i)},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}}}
		for _, m := range mutate {
			m(d)
		}
		g.Expect(c.Create(ctx, d)).To(Succeed())
	}
}

func migrationCondition(ctx context.Context, c client.Client, name string) func() string {
	return func() string {
		istio := &sailv1.Istio{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, istio); err != nil {
			return err.Error()
		}
		cond := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionWorkloadsMigrated)
		if cond == nil {
			return "<none>"
		}
		return string(cond.Status) + " " + cond.Reason + ": " + cond.Message
	}
}

func namespaceRev(ctx context.Context, c client.Client, name string) func() string {
	return func() string {
		ns := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			return err.Error()
		}
		return ns.Labels["istio.io/rev"]
	}
}

func setIstio(ctx context.Context, g Gomega, c client.Client, name string, change func(*sailv1.Istio)) {
	istio := &sailv1.Istio{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	change(istio)
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
}

// startUpdateWorkloads starts a stand-in sidecar injector and an operator, creates the namespace istiodNS and a
// RevisionBased Istio with updateWorkloads named name on v1.30 in it, pointed at the injector, with strategy (when
// not nil) changing its update strategy, and waits until the Istio is Ready. All of it is removed when the test ends.
func startUpdateWorkloads(t *testing.T, name, istiodNS string, strategy func(*sailv1.IstioUpdateStrategy)) *framework.Operator {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	injector, err := framework.StartInjector(ctx, c)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(injector.Stop)
	op, err := cluster.StartOperator(t.TempDir(), "operator")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(op.Stop)
	t.Cleanup(func() { op.DumpLogOnFailure(t) })

	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: istiodNS}}))).To(Succeed())
	us := &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased, UpdateWorkloads: true}
	if strategy != nil {
		strategy(us)
	}
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: sailv1.IstioSpec{
		Version: "v1.30-latest", Namespace: istiodNS, UpdateStrategy: us,
		Values: &sailv1.Values{IstiodRemote: &sailv1.IstiodRemoteConfig{InjectionURL: injector.URL()}},
	}}
	// An Istio of the same name from an earlier test may still be going away.
	g.Eventually(func() error { return c.Create(ctx, istio) }, waitFor, time.Second).Should(Succeed())
	t.Cleanup(func() { _ = c.Delete(ctx, istio) })
	g.Eventually(readyStatus(ctx, c, name), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	return op
}

// createAppNamespace creates a namespace with labels, deleted when the test ends.
func createAppNamespace(t *testing.T, name string, labels map[string]string) {
	ctx := context.Background()
	NewWithT(t).Expect(cluster.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})).To(Succeed())
	t.Cleanup(func() { _ = cluster.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}) })
}

// TestIstio_UpdateWorkloadsMovesDeploymentsInBatches upgrades a RevisionBased Istio with updateWorkloads while 20
// Deployments in 4 namespaces (and one opted-out namespace) run on the old revision: the namespaces are relabelled,
// the Deployments restarted in batches of at most the batch size onto the new revision, progress shows in status,
// the opted-out namespace is left alone, and the old revision is pruned once that namespace is gone.
func TestIstio_UpdateWorkloadsMovesDeploymentsInBatches(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	const (
		name      = "migrate"
		oldRev    = "migrate-v1-30-0"
		newRev    = "migrate-v1-31-0"
		batchSize = 6
	)
	apps := []string{"mig-a", "mig-b", "mig-c", "mig-d"}
	optOut := "mig-optout"
	grace := int64(2)
	startUpdateWorkloads(t, name, "istio-migrate", func(us *sailv1.IstioUpdateStrategy) {
		us.InactiveRevisionDeletionGracePeriodSeconds = &grace
		us.WorkloadMigration = &sailv1.WorkloadMigrationConfig{BatchSize: ptr.To[int32](batchSize),
			DelayBetweenBatchesSeconds: ptr.To[int32](1), BatchTimeoutSeconds: ptr.To[int32](120)}
	})
	g.Eventually(migrationCondition(ctx, c, name), waitFor).Should(HavePrefix("True WorkloadsMigrated: No older revision"))

	for _, ns := range append(apps, optOut) {
		labels := map[string]string{"istio.io/rev": oldRev}
		if ns == optOut {
			labels[workloads.LabelOptOut] = "disabled"
		}
		createAppNamespace(t, ns, labels)
	}
	for _, ns := range apps {
		createDeployments(ctx, g, c, ns, 5)
	}
	createDeployments(ctx, g, c, optOut, 1)
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, append(apps, optOut)...) }, waitFor).
		Should(Equal(map[string]int{oldRev: 21}), "every pod is injected by the old revision")

	// Upgrade, and watch the batches go by.
	setIstio(ctx, g, c, name, func(i *sailv1.Istio) { i.Spec.Version = "v1.31-latest" })
	batches := map[string]bool{}
	maxBatch := 0
	var progress []string
	g.Eventually(func() string {
		cur := &sailv1.Istio{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, cur); err != nil {
			return err.Error()
		}
		if wm := cur.Status.WorkloadMigration; wm != nil && len(wm.Batch) > 0 {
			var names []string
			for _, w := range wm.Batch {
				names = append(names, w.String())
			}
			sort.Strings(names)
			batches[strings.Join(names, ",")] = true
			maxBatch = max(maxBatch, len(wm.Batch))
			progress = append(progress, fmt.Sprintf("%d/%d", wm.Migrated, wm.Remaining))
		}
		return migrationCondition(ctx, c, name)()
	}, 3*waitFor, 100*time.Millisecond).Should(HavePrefix("True WorkloadsMigrated: Every workload that can move runs revision " + newRev))

	t.Run("every Deployment moved, in batches", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, apps...) }, waitFor).Should(Equal(map[string]int{newRev: 20}))
		g.Expect(maxBatch).To(Equal(batchSize), "batches are at most %d workloads", batchSize)
		g.Expect(len(batches)).To(BeNumerically(">=", 4), "20 workloads in batches of %d: %v", batchSize, batches)
		for _, ns := range apps {
			g.Expect(namespaceRev(ctx, c, ns)()).To(Equal(newRev))
		}
		cur := &sailv1.Istio{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, cur)).To(Succeed())
		wm := cur.Status.WorkloadMigration
		g.Expect(wm).NotTo(BeNil())
		g.Expect(wm.TargetRevision).To(Equal(newRev))
		g.Expect(wm.Migrated).To(Equal(int32(20)))
		g.Expect(wm.Remaining).To(Equal(int32(0)))
		g.Expect(wm.Skipped).To(Equal(int32(1)))
		g.Expect(wm.Batch).To(BeEmpty())
		g.Expect(progress).NotTo(BeEmpty())
		t.Logf("batches: %d, progress (migrated/remaining): %v", len(batches), progress)
	})

	t.Run("the opted-out namespace is left alone and keeps the old revision", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(namespaceRev(ctx, c, optOut)()).To(Equal(oldRev))
		g.Expect(framework.PodsByRevision(ctx, c, optOut)).To(Equal(map[string]int{oldRev: 1}))
		d := &appsv1.Deployment{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: optOut, Name: "app-0"}, d)).To(Succeed())
		g.Expect(d.Spec.Template.Annotations).NotTo(HaveKey(workloads.AnnotationMigratedTo))
		g.Expect(migrationCondition(ctx, c, name)()).To(ContainSubstring("Deployment mig-optout/app-0: its namespace opted out"))
		g.Consistently(revisionExists(ctx, c, oldRev), time.Duration(grace+2)*time.Second).Should(BeTrue())
	})

	t.Run("the old revision is pruned once nothing uses it", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: optOut}})).To(Succeed())
		g.Eventually(revisionExists(ctx, c, oldRev), waitFor, 250*time.Millisecond).Should(BeFalse())
		g.Eventually(migrationCondition(ctx, c, name), waitFor).Should(HavePrefix("True WorkloadsMigrated: No older revision"))
	})
}

// TestIstio_UpdateWorkloadsWaitsForTheNewRevision upgrades to a revision that never becomes Ready (its istiod cannot
// be scheduled): nothing is relabelled or restarted and the old revision stays; once the new revision is fixed and
// Ready, the workloads move.
func TestIstio_UpdateWorkloadsWaitsForTheNewRevision(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	const (
		name   = "stuck"
		oldRev = "stuck-v1-30-0"
		newRev = "stuck-v1-31-0"
		app    = "stuck-app"
	)
	startUpdateWorkloads(t, name, "istio-stuck", nil)
	createAppNamespace(t, app, map[string]string{"istio.io/rev": oldRev})
	createDeployments(ctx, g, c, app, 2)
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, waitFor).Should(Equal(map[string]int{oldRev: 2}))

	// The new revision's istiod asks for a node that does not exist.
	setIstio(ctx, g, c, name, func(i *sailv1.Istio) {
		i.Spec.Version = "v1.31-latest"
		i.Spec.Values.Pilot = &sailv1.PilotConfig{NodeSelector: rawJSON(map[string]string{"sail-e2e/no-such-node": "true"})}
	})
	g.Eventually(revisionExists(ctx, c, newRev), waitFor).Should(BeTrue())
	g.Eventually(migrationCondition(ctx, c, name), waitFor).Should(HavePrefix("False WaitingForRevision"))
	g.Consistently(func() string {
		return namespaceRev(ctx, c, app)() + fmt.Sprint(framework.PodsByRevision(ctx, c, app))
	}, 8*time.Second, 500*time.Millisecond).Should(Equal(oldRev + fmt.Sprint(map[string]int{oldRev: 2})))
	d := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: app, Name: "app-0"}, d)).To(Succeed())
	g.Expect(d.Spec.Template.Annotations).NotTo(HaveKey(workloads.AnnotationMigratedTo))
	g.Expect(revisionExists(ctx, c, oldRev)()).To(BeTrue())

	setIstio(ctx, g, c, name, func(i *sailv1.Istio) { i.Spec.Values.Pilot = nil })
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, 2*waitFor).Should(Equal(map[string]int{newRev: 2}))
	g.Eventually(namespaceRev(ctx, c, app), waitFor).Should(Equal(newRev))
	g.Eventually(revisionExists(ctx, c, oldRev), 2*waitFor, 250*time.Millisecond).Should(BeFalse())
}

// TestIstio_UpdateWorkloadsStopsOnABatchTimeout restarts a Deployment whose pods cannot be scheduled: the batch
// times out, the condition names the Deployment, no further batch starts, and migration goes on once it is fixed.
func TestIstio_UpdateWorkloadsStopsOnABatchTimeout(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	const (
		name   = "slow"
		oldRev = "slow-v1-30-0"
		newRev = "slow-v1-31-0"
		app    = "slow-app"
	)
	startUpdateWorkloads(t, name, "istio-slow", func(us *sailv1.IstioUpdateStrategy) {
		us.WorkloadMigration = &sailv1.WorkloadMigrationConfig{BatchSize: ptr.To[int32](1), BatchTimeoutSeconds: ptr.To[int32](3),
			DelayBetweenBatchesSeconds: ptr.To[int32](0)}
	})
	createAppNamespace(t, app, map[string]string{"istio.io/rev": oldRev})
	// app-0 (first in the batch order) asks for a node that does not exist: its pods stay Pending, injected.
	createDeployments(ctx, g, c, app, 3, func(d *appsv1.Deployment) {
		if d.Name == "app-0" {
			d.Spec.Template.Spec.NodeSelector = map[string]string{"sail-e2e/no-such-node": "true"}
		}
	})
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, waitFor).Should(Equal(map[string]int{oldRev: 3}))

	setIstio(ctx, g, c, name, func(i *sailv1.Istio) { i.Spec.Version = "v1.31-latest" })
	g.Eventually(migrationCondition(ctx, c, name), waitFor).Should(And(
		HavePrefix("False BatchTimedOut"), ContainSubstring("Deployment "+app+"/app-0 is not ready")))
	g.Consistently(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, 4*time.Second).Should(
		Equal(map[string]int{oldRev: 3, newRev: 1}), "only app-0's new pod (Pending): no further batch starts while one is stuck")

	d := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: app, Name: "app-0"}, d)).To(Succeed())
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Template.Spec.NodeSelector = nil
	g.Expect(c.Patch(ctx, d, patch)).To(Succeed())
	g.Eventually(migrationCondition(ctx, c, name), waitFor).Should(HavePrefix("True WorkloadsMigrated"))
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, waitFor).Should(Equal(map[string]int{newRev: 3}))
}

// TestIstio_UpdateWorkloadsSurvivesAnOperatorCrash kills the operator while a batch rolls out: a new operator
// process picks the migration up from the Istio's status and finishes it.
func TestIstio_UpdateWorkloadsSurvivesAnOperatorCrash(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	const (
		name   = "crash-mig"
		oldRev = "crash-mig-v1-30-0"
		newRev = "crash-mig-v1-31-0"
		app    = "crash-mig-app"
	)
	op := startUpdateWorkloads(t, name, "istio-crash-mig", func(us *sailv1.IstioUpdateStrategy) {
		us.InactiveRevisionDeletionGracePeriodSeconds = ptr.To[int64](1)
		us.WorkloadMigration = &sailv1.WorkloadMigrationConfig{BatchSize: ptr.To[int32](2), DelayBetweenBatchesSeconds: ptr.To[int32](1)}
	})
	createAppNamespace(t, app, map[string]string{"istio.io/rev": oldRev})
	createDeployments(ctx, g, c, app, 6)
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, waitFor).Should(Equal(map[string]int{oldRev: 6}))

	setIstio(ctx, g, c, name, func(i *sailv1.Istio) { i.Spec.Version = "v1.31-latest" })
	g.Eventually(func() int {
		cur := &sailv1.Istio{}
		if c.Get(ctx, client.ObjectKey{Name: name}, cur) != nil || cur.Status.WorkloadMigration == nil {
			return 0
		}
		return len(cur.Status.WorkloadMigration.Batch)
	}, waitFor, 50*time.Millisecond).Should(BeNumerically(">", 0), "a batch is rolling out")
	op.Kill()

	op2, err := cluster.StartOperator(t.TempDir(), "operator-after-crash")
	g.Expect(err).NotTo(HaveOccurred())
	defer op2.Stop()
	defer op2.DumpLogOnFailure(t)
	g.Eventually(migrationCondition(ctx, c, name), 2*waitFor).Should(HavePrefix("True WorkloadsMigrated"))
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, waitFor).Should(Equal(map[string]int{newRev: 6}))
	g.Eventually(revisionExists(ctx, c, oldRev), waitFor, 250*time.Millisecond).Should(BeFalse())
	cur := &sailv1.Istio{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, cur)).To(Succeed())
	g.Expect(cur.Status.WorkloadMigration.Migrated).To(BeNumerically(">=", 4), "at most the batch in flight at the crash may go uncounted")
	g.Expect(cur.Status.WorkloadMigration.Migrated).To(BeNumerically("<=", 6))
}

// TestIstio_UpdateWorkloadsMovesIstioInjectionNamespaces upgrades a RevisionBased Istio named default whose
// workloads (Deployments, a StatefulSet, a DaemonSet) live in a namespace labelled istio-injection=enabled: the
// managed default tag follows the new revision and the workloads are restarted onto it without relabelling the
// namespace.
func TestIstio_UpdateWorkloadsMovesIstioInjectionNamespaces(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	const (
		name   = "default"
		oldRev = "default-v1-30-0"
		newRev = "default-v1-31-0"
		app    = "injection-app"
	)
	startUpdateWorkloads(t, name, "istio-injection-e2e", func(us *sailv1.IstioUpdateStrategy) {
		us.InactiveRevisionDeletionGracePeriodSeconds = ptr.To[int64](1)
	})
	g.Eventually(tagState(ctx, c, "default"), waitFor).Should(ContainSubstring(oldRev))
	createAppNamespace(t, app, map[string]string{"istio-injection": "enabled"})
	createDeployments(ctx, g, c, app, 3)
	// A StatefulSet and a DaemonSet move too.
	labels := map[string]string{"app": "db"}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
	g.Expect(c.Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "db"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: template}})).To(Succeed())
	agentLabels := map[string]string{"app": "agent"}
	agentTemplate := template.DeepCopy()
	agentTemplate.Labels = agentLabels
	g.Expect(c.Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "agent"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: agentLabels}, Template: *agentTemplate}})).To(Succeed())
	nodes := &corev1.NodeList{}
	g.Expect(c.List(ctx, nodes)).To(Succeed())
	total := 3 + 2 + len(nodes.Items)
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, waitFor).Should(Equal(map[string]int{oldRev: total}))

	setIstio(ctx, g, c, name, func(i *sailv1.Istio) { i.Spec.Version = "v1.31-latest" })
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, 2*waitFor).Should(Equal(map[string]int{newRev: total}))
	g.Eventually(migrationCondition(ctx, c, name), waitFor).Should(HavePrefix("True WorkloadsMigrated"))
	cur := &sailv1.Istio{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, cur)).To(Succeed())
	g.Expect(cur.Status.WorkloadMigration.Migrated).To(Equal(int32(5)), "3 Deployments, a StatefulSet and a DaemonSet")
	g.Expect(namespaceRev(ctx, c, app)()).To(BeEmpty(), "the namespace keeps istio-injection=enabled and gets no istio.io/rev")
	g.Eventually(revisionExists(ctx, c, oldRev), waitFor, 250*time.Millisecond).Should(BeFalse())
}
