package istio_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// deny makes the API server refuse operation on resource (of sailoperator.io) with a ValidatingAdmissionPolicy
// and its binding; it returns the binding, whose deletion lifts the refusal.
func deny(t *testing.T, c client.Client, name, resource string, operation admissionregistrationv1.OperationType) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	t.Helper()
	ctx := context.Background()
	fail := admissionregistrationv1.Fail
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{operation},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{sailv1.GroupVersion.Group},
						APIVersions: []string{"*"}, Resources: []string{resource}},
				}}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "false", Message: "refused by test policy " + name}},
		}}
	if err := c.Create(ctx, policy); err != nil {
		t.Fatal(err)
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}
	if err := c.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	return binding
}

// refused waits until the API server applies the policy: a dry run of probe is refused.
func refused(probe func() error) func() bool {
	return func() bool {
		err := probe()
		return apierrors.IsInvalid(err) || apierrors.IsForbidden(err)
	}
}

// TestIstio_HousekeepingErrorsDoNotTakeReadyDown checks that failing to create the managed default tag or to
// prune an inactive revision is reported in DefaultTagReconciled and RevisionsMaintained, while Reconciled and
// Ready keep saying that istiod serves; both recover once the API server accepts the request again.
func TestIstio_HousekeepingErrorsDoNotTakeReadyDown(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")

	noTags := deny(t, c, "no-tags", "istiorevisiontags", admissionregistrationv1.Create)
	probeTag := func() error {
		return c.Create(ctx, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "probe"}, Spec: sailv1.IstioRevisionTagSpec{
			TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: "default"}}}, client.DryRunAll)
	}
	g.Eventually(refused(probeTag), timeout).Should(BeTrue())

	grace := int64(0)
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{
		Version: "v1.30.0", Namespace: "istio-system",
		UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased, InactiveRevisionDeletionGracePeriodSeconds: &grace}}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	old := client.ObjectKey{Namespace: "istio-system", Name: "istiod-default-v1-30-0"}
	g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, old) }, timeout).Should(Succeed())

	t.Run("a default tag that cannot be created leaves Ready alone", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(testenv.ConditionOf(c, istio, sailv1.ConditionReady), timeout).Should(Equal("True/" + sailv1.ReasonReady))
		g.Expect(testenv.ConditionOf(c, istio, sailv1.ConditionReconciled)()).To(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		g.Eventually(testenv.ConditionOf(c, istio, sailv1.ConditionDefaultTagReconciled), timeout).
			Should(Equal("False/" + sailv1.ReasonDefaultTagError))
		g.Expect(testenv.Condition(istio, sailv1.ConditionDefaultTagReconciled).Message).To(ContainSubstring("refused by test policy"))
		g.Expect(testenv.ConditionOf(c, istio, sailv1.ConditionReady)()).To(Equal("True/" + sailv1.ReasonReady))

		g.Expect(c.Delete(ctx, noTags)).To(Succeed())
		g.Eventually(testenv.ConditionOf(c, istio, sailv1.ConditionDefaultTagReconciled), timeout).
			Should(Equal("True/" + sailv1.ReasonReconcileSucceeded))
	})

	t.Run("a revision that cannot be pruned leaves Ready alone", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(testenv.ConditionOf(c, istio, sailv1.ConditionRevisionsMaintained), timeout).
			Should(Equal("True/" + sailv1.ReasonRevisionsMaintained))
		noDeletes := deny(t, c, "no-revision-deletes", "istiorevisions", admissionregistrationv1.Delete)
		probeRev := func() error {
			return c.Delete(ctx, &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "default-v1-30-0"}}, client.DryRunAll)
		}
		g.Eventually(refused(probeRev), timeout).Should(BeTrue())

		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(istio), istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Spec.Version = "v1.31.0"
		g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
		next := client.ObjectKey{Namespace: "istio-system", Name: "istiod-default-v1-31-0"}
		g.Eventually(func() error { return testenv.MarkDeploymentAvailable(ctx, c, next) }, timeout).Should(Succeed())

		g.Eventually(testenv.ConditionOf(c, istio, sailv1.ConditionRevisionsMaintained), timeout).
			Should(Equal("False/" + sailv1.ReasonPruneError))
		g.Expect(testenv.Condition(istio, sailv1.ConditionRevisionsMaintained).Message).To(ContainSubstring("default-v1-30-0"))
		g.Eventually(testenv.ConditionOf(c, istio, sailv1.ConditionReady), timeout).Should(Equal("True/" + sailv1.ReasonReady))
		g.Expect(testenv.ConditionOf(c, istio, sailv1.ConditionReconciled)()).To(Equal("True/" + sailv1.ReasonReconcileSucceeded))
		g.Expect(istio.Status.ActiveRevisionName).To(Equal("default-v1-31-0"))

		g.Expect(c.Delete(ctx, noDeletes)).To(Succeed())
		g.Eventually(testenv.ConditionOf(c, istio, sailv1.ConditionRevisionsMaintained), timeout).
			Should(Equal("True/" + sailv1.ReasonRevisionsMaintained))
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "default-v1-30-0"}, &sailv1.IstioRevision{}))
		}, timeout).Should(BeTrue(), "the old revision is pruned once the API server lets it go")
	})
}
