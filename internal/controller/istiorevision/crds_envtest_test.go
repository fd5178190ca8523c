package istiorevision_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/mesh/istiocrds"
)

// TestIstioRevision_HelmInstalledNewerCRDsAreNotDowngraded pre-creates Istio's CRDs as `helm install istio-base`
// of Istio 1.31.0 does (labelled by Helm, not by Sail, so the operator's label-filtered cache does not see them),
// then installs an Istio 1.30.0: the CRDs must stay those of 1.31.0, and the revision says so.
func TestIstioRevision_HelmInstalledNewerCRDsAreNotDowngraded(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	c := env.Client
	helm := env.InstallIstioCRDsLikeHelm(t, "v1.31.0", "1.31.0")
	env.StartOperator(t)
	env.CreateNamespace(t, "istio-system")
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "mesh"},
		Spec: sailv1.IstioSpec{Version: "v1.30.0", Namespace: "istio-system"}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())

	rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "mesh"}}
	g.Eventually(testenv.ConditionOf(c, rev, sailv1.ConditionIstioCRDs), timeout).
		Should(Equal("True/" + sailv1.ReasonCRDsKeptNewer))
	cond := testenv.Condition(rev, sailv1.ConditionIstioCRDs)
	g.Expect(cond.Message).To(ContainSubstring("never downgraded"))
	g.Expect(cond.Message).To(ContainSubstring("virtualservices.networking.istio.io (1.31.0, by Helm)"))
	g.Expect(testenv.ConditionOf(c, rev, sailv1.ConditionReconciled)()).To(Equal("True/" + sailv1.ReasonReconcileSucceeded))

	for _, want := range helm {
		live := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: want.Name}, live)).To(Succeed())
		g.Expect(live.Annotations).NotTo(HaveKey(istiocrds.AnnotationIstioVersion), "%s was taken over", want.Name)
		g.Expect(live.Labels).To(Equal(want.Labels), "%s was relabelled", want.Name)
		g.Expect(equality.Semantic.DeepEqual(live.Spec, want.Spec)).To(BeTrue(), "%s was downgraded", want.Name)
	}

	g.Eventually(func() []string {
		var list eventsv1.EventList
		if err := c.List(ctx, &list); err != nil {
			return nil
		}
		var reasons []string
		for _, e := range list.Items {
			if e.Regarding.Kind == sailv1.IstioRevisionKind && e.Regarding.Name == "mesh" {
				reasons = append(reasons, e.Reason)
			}
		}
		return reasons
	}, timeout).Should(ContainElement(sailv1.ReasonCRDsKeptNewer))
}
