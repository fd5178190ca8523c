package istiocni_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// TestIstioCNI_VersionSkewIsRefused upgrades the IstioCNI before the control plane it serves: the change is
// refused with VersionSkew, the running DaemonSet keeps its version, and once the control plane is upgraded
// (and Ready at the new version) the IstioCNI moves on by itself.
func TestIstioCNI_VersionSkewIsRefused(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")
	env.CreateNamespace(t, "istio-cni")

	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: sailv1.IstioSpec{Version: "v1.30.0", Namespace: "istio-system"}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	istiod := client.ObjectKey{Namespace: "istio-system", Name: "istiod"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, istiod) }, timeout).Should(Succeed())

	cni := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: sailv1.IstioCNIName},
		Spec: sailv1.IstioCNISpec{Version: "v1.30.0", Namespace: "istio-cni"}}
	g.Expect(c.Create(ctx, cni)).To(Succeed())
	key := client.ObjectKey{Namespace: "istio-cni", Name: "istio-cni-node"}
	image := func() string {
		ds := &appsv1.DaemonSet{}
		if err := c.Get(ctx, key, ds); err != nil {
			return err.Error()
		}
		return ds.Spec.Template.Spec.Containers[0].Image
	}
	g.Eventually(image, timeout).Should(Equal("docker.io/istio/install-cni:1.30.0"))
	g.Eventually(condition(c, sailv1.ConditionReconciled), timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))

	setCNIVersion(g, c, "v1.31.0")
	g.Eventually(condition(c, sailv1.ConditionReconciled), timeout).Should(Equal("False/" + sailv1.ReasonVersionSkew))
	g.Expect(condition(c, "Stalled")()).To(Equal("True/" + sailv1.ReasonVersionSkew))
	msg := testenv.Condition(readCNI(g, c), sailv1.ConditionReconciled).Message
	g.Expect(msg).To(And(ContainSubstring("IstioRevision default (v1.30.0)"), ContainSubstring("upgrade the control plane first")))
	g.Consistently(image, 2*time.Second, 200*time.Millisecond).Should(Equal("docker.io/istio/install-cni:1.30.0"),
		"the refused version is not applied")
	g.Expect(readCNI(g, c).Status.Version).To(Equal("v1.30.0"), "status.version keeps the version that runs")

	// The right order: the control plane first. Once its istiod is Ready at v1.31, the IstioCNI follows.
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Version = "v1.31.0"
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	g.Eventually(func() string {
		_ = testenv.MarkDeploymentAvailable(ctx, c, istiod)
		return condition(c, sailv1.ConditionReconciled)() + " " + image()
	}, timeout).Should(Equal("True/" + sailv1.ReasonReconcileSucceeded + " docker.io/istio/install-cni:1.31.0"))

	// A new control plane older than the IstioCNI is refused on the Istio's side, before its revision exists.
	older := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "older"}, Spec: sailv1.IstioSpec{Version: "v1.30.0",
		Namespace: "istio-system", UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased}}}
	g.Expect(c.Create(ctx, older)).To(Succeed())
	g.Eventually(testenv.ConditionOf(c, older, sailv1.ConditionReconciled), timeout).Should(Equal("False/" + sailv1.ReasonVersionSkew))
	g.Expect(testenv.Condition(readIstio(g, c, "older"), sailv1.ConditionReconciled).Message).To(
		ContainSubstring("IstioCNI runs v1.31.0, newer than v1.30.0: downgrade IstioCNI first"))
	g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "older-v1-30-0"}, &sailv1.IstioRevision{}))).To(BeTrue(),
		"the refused revision is not created")
}

func readIstio(g Gomega, c client.Client, name string) *sailv1.Istio {
	istio := &sailv1.Istio{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Name: name}, istio)).To(Succeed())
	return istio
}

func readCNI(g Gomega, c client.Client) *sailv1.IstioCNI {
	cni := &sailv1.IstioCNI{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Name: sailv1.IstioCNIName}, cni)).To(Succeed())
	return cni
}

func setCNIVersion(g Gomega, c client.Client, version string) {
	cni := readCNI(g, c)
	patch := client.MergeFrom(cni.DeepCopy())
	cni.Spec.Version = version
	g.Expect(c.Patch(context.Background(), cni, patch)).To(Succeed())
}
