package istio_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/operator"
)

// remoteSecret is a remote secret of istio-system naming clusters by their kubeconfigs, as istiod reads them.
func remoteSecret(name string, kubeconfigs map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: name,
		Labels: map[string]string{"istio/multiCluster": "true"}}, Data: kubeconfigs}
}

// unreachableKubeconfig names an API server on a port nothing listens on.
var unreachableKubeconfig = []byte(`apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: gone, user: {token: x}}]
contexts: [{name: gone, context: {cluster: gone, user: gone}}]
current-context: gone
`)

// TestIstio_InactiveRevisionKeptForRemoteClusters upgrades a RevisionBased Istio whose namespace holds a remote
// secret for a second API server (a remote cluster, as in a primary-remote mesh). The old revision, unused here,
// is kept while a namespace of the remote cluster selects it, then while a pod there runs it, then while another
// remote cluster cannot be read, and RevisionsMaintained says why; it is pruned once every remote cluster answers
// that nothing uses it.
func TestIstio_InactiveRevisionKeptForRemoteClusters(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	remote := testenv.Start(t)
	env := testenv.Start(t)
	env.StartOperator(t, func(o *operator.Options) { o.RemoteUsageRecheck = time.Second })
	c := env.Client
	env.CreateNamespace(t, "istio-system")
	shop := remote.CreateNamespace(t, "shop")
	g.Expect(c.Create(ctx, remoteSecret("istio-remote-secret-west", map[string][]byte{"west": remote.Kubeconfig(t)}))).To(Succeed())

	istio := newIstio("mesh", "istio-system", nil)
	istio.Spec.Version = "v1.30.0"
	istio.Spec.UpdateStrategy = &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased,
		InactiveRevisionDeletionGracePeriodSeconds: ptr.To[int64](1)}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	oldDeploy := client.ObjectKey{Namespace: "istio-system", Name: "istiod-mesh-v1-30-0"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, oldDeploy) }, timeout).Should(Succeed())
	patchLabels(g, remote.Client, shop, map[string]string{"istio.io/rev": "mesh-v1-30-0"})

	setVersion(g, c, "mesh", "v1.31.0")
	newDeploy := client.ObjectKey{Namespace: "istio-system", Name: "istiod-mesh-v1-31-0"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, newDeploy) }, timeout).Should(Succeed())
	maintained := func() string {
		if err := c.Get(ctx, client.ObjectKeyFromObject(istio), istio); err != nil {
			return err.Error()
		}
		got := testenv.Condition(istio, sailv1.ConditionRevisionsMaintained)
		if got == nil {
			return "no RevisionsMaintained condition"
		}
		return string(got.Status) + "/" + got.Reason + ": " + got.Message
	}
	g.Eventually(maintained, timeout).Should(And(HavePrefix("True/"+sailv1.ReasonKeptForRemoteClusters),
		ContainSubstring("IstioRevision mesh-v1-30-0: remote cluster west uses it (namespace shop selects mesh-v1-30-0)")))
	oldRev := func() error { return c.Get(ctx, client.ObjectKey{Name: "mesh-v1-30-0"}, &sailv1.IstioRevision{}) }
	g.Consistently(oldRev, 3*time.Second, 250*time.Millisecond).Should(Succeed(), "used in the remote cluster")

	// The namespace moves on, a pod injected by the old revision still runs there.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web",
		Annotations: map[string]string{"istio.io/rev": "mesh-v1-30-0"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web"}}}}
	g.Expect(remote.Client.Create(ctx, pod)).To(Succeed())
	patchLabels(g, remote.Client, shop, map[string]string{"istio.io/rev": "mesh-v1-31-0"})
	g.Eventually(maintained, timeout).Should(ContainSubstring("remote cluster west uses it (pod shop/web runs mesh-v1-30-0)"))
	g.Consistently(oldRev, 2*time.Second, 250*time.Millisecond).Should(Succeed(), "a remote pod runs it")

	// A second remote cluster that does not answer: its usage is unknown, so the revision stays.
	g.Expect(c.Create(ctx, remoteSecret("istio-remote-secret-gone", map[string][]byte{"gone": unreachableKubeconfig}))).To(Succeed())
	g.Expect(remote.Client.Delete(ctx, pod, client.GracePeriodSeconds(0))).To(Succeed())
	g.Eventually(maintained, timeout).Should(And(ContainSubstring("its use in remote cluster gone is unknown"),
		Not(ContainSubstring("cluster west"))))
	g.Consistently(oldRev, 3*time.Second, 250*time.Millisecond).Should(Succeed(), "usage unknown means keep")

	g.Expect(c.Delete(ctx, remoteSecret("istio-remote-secret-gone", nil))).To(Succeed())
	g.Eventually(func() bool { return apierrors.IsNotFound(oldRev()) }, timeout).Should(BeTrue(),
		"pruned once every remote cluster answers that nothing uses it")
	g.Eventually(maintained, timeout).Should(HavePrefix("True/" + sailv1.ReasonRevisionsMaintained))
}

// patchLabels sets labels on a namespace.
func patchLabels(g Gomega, c client.Client, ns *corev1.Namespace, labels map[string]string) {
	g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(ns), ns)).To(Succeed())
	patch := client.MergeFrom(ns.DeepCopy())
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	for k, v := range labels {
		ns.Labels[k] = v
	}
	g.Expect(c.Patch(context.Background(), ns, patch)).To(Succeed())
}
