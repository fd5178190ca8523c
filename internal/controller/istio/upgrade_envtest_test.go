package istio_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/operator"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
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

// allowVersion adds version to the spec.version enum of a Sail CRD (crd names it, e.g. istios.sailoperator.io),
// so that a test can use a version this build has no charts for, and waits until the API server applies it.
func allowVersion(t *testing.T, c client.Client, crd, version string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apiextensions.k8s.io/v1")
	u.SetKind("CustomResourceDefinition")
	g.Expect(c.Get(ctx, client.ObjectKey{Name: crd}, u)).To(Succeed())
	versions, _, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
	for i := range versions {
		v := versions[i].(map[string]any)
		path := []string{"schema", "openAPIV3Schema", "properties", "spec", "properties", "version", "enum"}
		enum, found, err := unstructured.NestedSlice(v, path...)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(found).To(BeTrue(), "%s has a spec.version enum", crd)
		g.Expect(unstructured.SetNestedSlice(v, append(enum, version), path...)).To(Succeed())
	}
	g.Expect(unstructured.SetNestedSlice(u.Object, versions, "spec", "versions")).To(Succeed())
	g.Expect(c.Update(ctx, u)).To(Succeed())
}

// withVersion returns the embedded versions list plus a version of that name without charts (its revisions
// cannot render, which the tests below never need).
func withVersion(name string) func(*operator.Options) {
	return func(o *operator.Options) {
		l := *versions.Default()
		l.Versions = append([]versions.Version{{Name: name, ModuleVersion: "test", Hub: "docker.io/istio",
			Tag: strings.TrimPrefix(name, "v")}}, l.Versions...)
		o.Versions = &l
	}
}

func revisionSpecVersion(c client.Client, name string) func() string {
	return func() string {
		rev := &sailv1.IstioRevision{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, rev); err != nil {
			return err.Error()
		}
		return rev.Spec.Version
	}
}

// TestIstio_InPlaceMovesOneMinorFromWhatRuns changes an InPlace Istio's version twice, v1.30 -> v1.31 -> v1.32,
// before v1.31 has rolled out: the second change is refused with UpgradeRefused (istiod still runs v1.30, two
// minors away) and the revision stays at v1.31 until it is Ready there; then the Istio moves on to v1.32 by itself.
func TestIstio_InPlaceMovesOneMinorFromWhatRuns(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	c := env.Client
	allowVersion(t, c, "istios.sailoperator.io", "v1.32.0")
	allowVersion(t, c, "istiorevisions.sailoperator.io", "v1.32.0")
	env.StartOperator(t, withVersion("v1.32.0"))
	env.CreateNamespace(t, "istio-system")

	istio := newIstio("inplace", "istio-system", nil)
	istio.Spec.Version = "v1.30.0"
	g.Eventually(func() error { return c.Create(ctx, istio) }, timeout).Should(Succeed(), "the API server accepts the CRDs' new enum")
	deployKey := client.ObjectKey{Namespace: "istio-system", Name: "istiod-inplace"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, deployKey) }, timeout).Should(Succeed())
	g.Eventually(condition(c, "inplace", sailv1.ConditionReady), timeout).Should(Equal(metav1.ConditionTrue))

	setVersion(g, c, "inplace", "v1.31.0")
	g.Eventually(revisionSpecVersion(c, "inplace"), timeout).Should(Equal("v1.31.0"))
	g.Eventually(condition(c, "inplace", sailv1.ConditionReady), timeout).Should(Equal(metav1.ConditionFalse), "v1.31 is rolling out")

	setVersion(g, c, "inplace", "v1.32.0")
	g.Eventually(reconciledMessage(c, "inplace"), timeout).Should(And(
		HavePrefix("False/"+sailv1.ReasonUpgradeRefused), ContainSubstring("still runs v1.30.0")))
	g.Consistently(revisionSpecVersion(c, "inplace"), 2*time.Second).Should(Equal("v1.31.0"), "the revision stays at v1.31")

	// v1.31 rolls out: the revision is Ready there, and the Istio moves on to v1.32.
	g.Expect(testenv.MarkDeploymentAvailable(ctx, c, deployKey)).To(Succeed())
	g.Eventually(revisionSpecVersion(c, "inplace"), timeout).Should(Equal("v1.32.0"))
}

// TestIstio_InPlaceDowngradeIsRefused moves an InPlace Istio from v1.31 down to v1.30: the change is refused with
// DowngradeRefused (Stalled), the revision and its istiod stay at v1.31 and Ready, and setting the version back
// recovers.
func TestIstio_InPlaceDowngradeIsRefused(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")

	istio := newIstio("down", "istio-system", nil)
	istio.Spec.Version = "v1.31.0"
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	deployKey := client.ObjectKey{Namespace: "istio-system", Name: "istiod-down"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, deployKey) }, timeout).Should(Succeed())
	g.Eventually(condition(c, "down", sailv1.ConditionReady), timeout).Should(Equal(metav1.ConditionTrue))

	setVersion(g, c, "down", "v1.30.0")
	g.Eventually(reconciledMessage(c, "down"), timeout).Should(And(HavePrefix("False/"+sailv1.ReasonDowngradeRefused),
		ContainSubstring("from v1.31.0 to v1.30.0"), ContainSubstring("RevisionBased")))
	g.Expect(condition(c, "down", "Stalled")()).To(Equal(metav1.ConditionTrue))
	g.Consistently(revisionSpecVersion(c, "down"), 2*time.Second).Should(Equal("v1.31.0"), "the revision stays at v1.31")
	deploy := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, deployKey, deploy)).To(Succeed())
	g.Expect(deploy.Spec.Template.Spec.Containers[0].Image).To(HaveSuffix(":1.31.0"), "istiod keeps serving v1.31")
	g.Eventually(revisionCondition(c, "down", sailv1.ConditionReady), timeout).Should(HavePrefix("True/"))

	setVersion(g, c, "down", "v1.31.0")
	g.Eventually(reconciledMessage(c, "down"), timeout).Should(HavePrefix("True/"))
}
