package istio_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// TestIstio_TrustsItsZTunnel checks that the revision of an Istio trusts the ZTunnel that targets it, in the
// namespace the ZTunnel runs in, also when the ZTunnel comes after the Istio; a user's own choice is kept.
func TestIstio_TrustsItsZTunnel(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "ambient-cp")
	env.CreateNamespace(t, "ztunnel")
	istio := &sailv1.Istio{}
	istio.Name = "ambient"
	istio.Spec = sailv1.IstioSpec{Namespace: "ambient-cp", Profile: "ambient"}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	trusted := func() string {
		rev := &sailv1.IstioRevision{}
		if err := c.Get(ctx, client.ObjectKey{Name: "ambient"}, rev); err != nil {
			return err.Error()
		}
		if rev.Spec.Values == nil || rev.Spec.Values.Pilot == nil {
			return ""
		}
		return rev.Spec.Values.Pilot.TrustedZtunnelNamespace + "/" + rev.Spec.Values.Pilot.TrustedZtunnelName
	}
	g.Eventually(trusted, timeout).Should(Equal("/"), "no ZTunnel yet: the chart's default (istiod's namespace)")

	zt := &sailv1.ZTunnel{}
	zt.Name = sailv1.ZTunnelName
	zt.Spec = sailv1.ZTunnelSpec{Namespace: "ztunnel", TargetRef: &sailv1.ZTunnelTargetRef{Kind: sailv1.IstioKind, Name: "ambient"},
		Values: &sailv1.ZTunnelValues{Ztunnel: &sailv1.ZTunnelConfig{ResourceName: "zt"}}}
	g.Expect(c.Create(ctx, zt)).To(Succeed())
	g.Eventually(trusted, timeout).Should(Equal("ztunnel/zt"), "the revision trusts the ZTunnel where it runs")

	g.Expect(c.Get(ctx, client.ObjectKey{Name: "ambient"}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Values = &sailv1.Values{Pilot: &sailv1.PilotConfig{TrustedZtunnelNamespace: "mine"}}
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	g.Eventually(trusted, timeout).Should(Equal("mine/"), "the user's choice wins")
}
