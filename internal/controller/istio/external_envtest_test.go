package istio_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// TestIstio_InconsistentExternalValues creates the config cluster's Istio of an external control plane without
// the remote profile: the Istio is not reconciled, says what to change, and no revision is created.
func TestIstio_InconsistentExternalValues(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "external-istiod")
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{
		Namespace: "external-istiod", Values: &sailv1.Values{Global: &sailv1.GlobalConfig{ConfigCluster: ptr.To(true)},
			IstiodRemote: &sailv1.IstiodRemoteConfig{InjectionURL: "https://10.0.0.9:15017/inject"}}}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	g.Eventually(func() string {
		_ = c.Get(ctx, client.ObjectKey{Name: "default"}, istio)
		if cond := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionReconciled); cond != nil {
			return string(cond.Status) + " " + cond.Reason + ": " + cond.Message
		}
		return ""
	}, timeout).Should(And(HavePrefix("False "+sailv1.ReasonInvalidSpec),
		ContainSubstring("values.global.configCluster is for the config cluster"), ContainSubstring("set spec.profile: remote")))
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "default"}, &sailv1.IstioRevision{})).NotTo(Succeed(),
		"no revision is created from inconsistent values")
}
