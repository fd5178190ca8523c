package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

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
	startUpdateWorkloads(t, name, "takeover-e2e", func(us *sailv1.IstioUpdateStrategy) {
		us.Type, us.UpdateWorkloads = sailv1.UpdateStrategyInPlace, false
		us.InactiveRevisionDeletionGracePeriodSeconds = ptr.To[int64](1)
	})
	createAppNamespace(t, app, map[string]string{"istio-injection": "enabled"})
	createDeployments(ctx, g, c, app, 2)
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, waitFor).Should(Equal(map[string]int{name: 2}))

	setIstio(ctx, g, c, name, func(i *sailv1.Istio) {
		i.Spec.UpdateStrategy.Type = sailv1.UpdateStrategyRevisionBased
		i.Spec.UpdateStrategy.UpdateWorkloads = true
	})
	g.Eventually(tagState(ctx, c, name), waitFor).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded + " -> " + newRev))
	// The tag's webhook works once the injector has filled in its caBundle (istiod does the same within a second).
	g.Eventually(func() string { return injectedRevision(ctx, c, app, nil, nil) }, waitFor, 250*time.Millisecond).
		Should(Equal(newRev), "a new pod is injected by the new revision")
	g.Eventually(func() map[string]int { return framework.PodsByRevision(ctx, c, app) }, 2*waitFor).Should(Equal(map[string]int{newRev: 2}),
		"updateWorkloads restarts the Deployments onto the new revision")
	g.Eventually(revisionExists(ctx, c, name), waitFor, 250*time.Millisecond).Should(BeFalse(), "the old revision is pruned")
	g.Eventually(migrationCondition(ctx, c, name), waitFor).Should(HavePrefix("True WorkloadsMigrated"))
	g.Expect(namespaceRev(ctx, c, app)()).To(BeEmpty(), "the namespace keeps istio-injection=enabled and gets no istio.io/rev")
}
