package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

// TestIstio_SwitchingDefaultToRevisionBasedMovesInjection switches an InPlace Istio named default, whose revision
// default injects the Deployments of an istio-injection=enabled namespace, to RevisionBased with updateWorkloads:
// the managed tag default takes the name over, new pods of that namespace are injected by the new revision, the
// Deployments are restarted onto it, and the old revision is pruned.
func TestIstio_SwitchingDefaultToRevisionBasedMovesInjection(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	const (
		name   = "default"
		newRev = "default-v1-30-0"
		app    = "takeover-app"
	)
	injector, err := framework.StartInjector(ctx, c)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(injector.Stop)
	op, err := cluster.StartOperator(t.TempDir(), "operator")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(op.Stop)
	t.Cleanup(func() { op.DumpLogOnFailure(t) })
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "takeover-e2e"}}))).To(Succeed())

	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: sailv1.IstioSpec{
		Version: "v1.30-latest", Namespace: "takeover-e2e",
		UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyInPlace, InactiveRevisionDeletionGracePeriodSeconds: ptr.To[int64](1)},
		Values:         &sailv1.Values{IstiodRemote: &sailv1.IstiodRemoteConfig{InjectionURL: injector.URL()}},
	}}
	// An Istio named default of an earlier test may still be going away.
	g.Eventually(func() error { return c.Create(ctx, istio) }, waitFor, time.Second).Should(Succeed())
	t.Cleanup(func() { _ = c.Delete(ctx, istio) })
	g.Eventually(readyStatus(ctx, c, name), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	createAppNamespace(t, app, map[string]string{"istio-injection": "enabled"})
	createDeployments(ctx, g, c, app, 2)
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, waitFor).Should(Equal(map[string]int{name: 2}))

	setIstio(ctx, g, c, name, func(i *sailv1.Istio) {
		i.Spec.UpdateStrategy.Type = sailv1.UpdateStrategyRevisionBased
		i.Spec.UpdateStrategy.UpdateWorkloads = true
	})
	g.Eventually(tagState(ctx, c, name), waitFor).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded + " -> " + newRev))
	g.Expect(injectedRevision(ctx, c, app, nil, nil)).To(Equal(newRev), "a new pod is injected by the new revision")
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, 2*waitFor).Should(Equal(map[string]int{newRev: 2}),
		"updateWorkloads restarts the Deployments onto the new revision")
	g.Eventually(revisionExists(ctx, c, name), waitFor, 250*time.Millisecond).Should(BeFalse(), "the old revision is pruned")
	g.Eventually(migrationCondition(ctx, c, name), waitFor).Should(HavePrefix("True WorkloadsMigrated"))
	g.Expect(namespaceRev(ctx, c, app)()).To(BeEmpty(), "the namespace keeps istio-injection=enabled and gets no istio.io/rev")
}
