package istio_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// reconciledMessage returns a function for Eventually that reads the Istio's Reconciled condition as
// "Status/Reason: message".
func reconciledMessage(c client.Client, name string) func() string {
	return func() string {
		istio := &sailv1.Istio{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, istio); err != nil {
			return err.Error()
		}
		cond := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionReconciled)
		if cond == nil {
			return "unset"
		}
		return string(cond.Status) + "/" + cond.Reason + ": " + cond.Message
	}
}

// setVersion moves an Istio to version.
func setVersion(g Gomega, c client.Client, name, version string) {
	istio := &sailv1.Istio{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Name: name}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version = version
	g.Expect(c.Patch(context.Background(), istio, patch)).To(Succeed())
}

// TestIstio_AFailedRevisionBasedChangeKeepsTheServingRevision checks that a RevisionBased version change whose new
// revision cannot be created prunes nothing: the serving revision, unused and past its grace period, stays Ready
// with its objects, the Istio reports the failure and its status.activeRevisionName keeps naming the serving
// revision.
func TestIstio_AFailedRevisionBasedChangeKeepsTheServingRevision(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")

	istio := newIstio("mesh", "istio-system", nil)
	istio.Spec.Version = "v1.30.0"
	istio.Spec.UpdateStrategy = &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased,
		InactiveRevisionDeletionGracePeriodSeconds: ptr.To[int64](1)}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	deployKey := client.ObjectKey{Namespace: "istio-system", Name: "istiod-mesh-v1-30-0"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, deployKey) }, timeout).Should(Succeed())
	g.Eventually(condition(c, "mesh", sailv1.ConditionReady), timeout).Should(Equal(metav1.ConditionTrue))
	g.Eventually(revisionCondition(c, "mesh-v1-30-0", sailv1.ConditionInUse), timeout).Should(HavePrefix("False/"), "nothing uses it")

	// The new revision's name is taken by an IstioRevision that belongs to nobody (its namespace does not exist, so
	// it renders nothing).
	foreign := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "mesh-v1-31-0"}, Spec: sailv1.IstioRevisionSpec{
		Version: "v1.31.0", Namespace: "nowhere", Values: &sailv1.Values{Revision: "mesh-v1-31-0"}}}
	g.Expect(c.Create(ctx, foreign)).To(Succeed())

	setVersion(g, c, "mesh", "v1.31.0")
	g.Eventually(reconciledMessage(c, "mesh"), timeout).Should(ContainSubstring("IstioRevision mesh-v1-31-0 exists and does not belong to this Istio"))

	// Past the grace period, any later reconcile (here: an annotation) would prune the revision if the failed
	// change had made it inactive.
	time.Sleep(3 * time.Second)
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "mesh"}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Annotations = map[string]string{"poke": "1"}
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())

	g.Consistently(revisionCondition(c, "mesh-v1-30-0", sailv1.ConditionReady), 5*time.Second, 250*time.Millisecond).
		Should(HavePrefix("True/"), "the serving revision is neither pruned nor disturbed")
	g.Expect(c.Get(ctx, deployKey, &appsv1.Deployment{})).To(Succeed(), "its istiod Deployment is still there")
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "mesh"}, istio)).To(Succeed())
	g.Expect(istio.Status.ActiveRevisionName).To(Equal("mesh-v1-30-0"), "activeRevisionName names a revision that exists")
	g.Expect(istio.Status.State).NotTo(Equal(sailv1.StateHealthy))
	rev := &sailv1.IstioRevision{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "mesh-v1-30-0"}, rev)).To(Succeed())
	g.Expect(rev.Annotations).NotTo(HaveKey("sailoperator.io/inactive-since"), "a failed change does not make the serving revision inactive")
}
