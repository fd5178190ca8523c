package istio_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

func unstructuredIstio(name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion("sailoperator.io/v1")
	u.SetKind("Istio")
	u.SetName(name)
	return u
}

// warningCollector records the API server's warnings.
type warningCollector struct{ warnings []string }

func (w *warningCollector) HandleWarningHeader(_ int, _ string, text string) {
	w.warnings = append(w.warnings, text)
}

func TestIstio_InvalidInput(t *testing.T) {
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")

	rejected := []struct {
		name    string
		spec    map[string]any
		message string
	}{
		{"istioNamespace differs from spec.namespace",
			map[string]any{"namespace": "istio-system", "values": map[string]any{"global": map[string]any{"istioNamespace": "other"}}},
			"spec.values.global.istioNamespace must be empty or equal to spec.namespace"},
		{"unknown version", map[string]any{"version": "v0.9.0"}, "spec.version: Unsupported value: \"v0.9.0\""},
		{"wrong value type", map[string]any{"values": map[string]any{"pilot": map[string]any{"replicaCount": "three"}}},
			"spec.values.pilot.replicaCount: Invalid value: \"string\""},
		{"unknown profile", map[string]any{"profile": "huge"}, "spec.profile: Unsupported value"},
		{"unknown update strategy", map[string]any{"updateStrategy": map[string]any{"type": "Sometimes"}}, "spec.updateStrategy.type: Unsupported value"},
		{"updateWorkloads without RevisionBased", map[string]any{"updateStrategy": map[string]any{"updateWorkloads": true}},
			"updateWorkloads needs type RevisionBased"},
		{"updateWorkloads with InPlace", map[string]any{"updateStrategy": map[string]any{"type": "InPlace", "updateWorkloads": true}},
			"updateWorkloads needs type RevisionBased"},
		{"a batch size of zero", map[string]any{"updateStrategy": map[string]any{"workloadMigration": map[string]any{"batchSize": 0}}},
			"spec.updateStrategy.workloadMigration.batchSize: Invalid value: 0"},
	}
	for _, tc := range rejected {
		t.Run("rejected at admission: "+tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := c.Create(ctx, unstructuredIstio("bad", tc.spec))
			g.Expect(err).To(MatchError(ContainSubstring(tc.message)))
		})
	}

	t.Run("an unknown value key is rejected with strict validation and named in a warning otherwise", func(t *testing.T) {
		g := NewWithT(t)
		spec := map[string]any{"values": map[string]any{"pilot": map[string]any{"replicaCont": 2}}}
		err := c.Create(ctx, unstructuredIstio("typo", spec), client.FieldValidation(metav1.FieldValidationStrict))
		g.Expect(err).To(MatchError(ContainSubstring(`unknown field "spec.values.pilot.replicaCont"`)))

		warnings := &warningCollector{}
		cfg := rest.CopyConfig(env.Config)
		cfg.WarningHandlerWithContext = nil
		cfg.WarningHandler = warnings
		wc, err := client.New(cfg, client.Options{Scheme: c.Scheme()})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(wc.Create(ctx, unstructuredIstio("typo", spec), client.FieldValidation(metav1.FieldValidationWarn))).To(Succeed())
		g.Expect(warnings.warnings).To(ContainElement(ContainSubstring(`unknown field "spec.values.pilot.replicaCont"`)))
		g.Expect(c.Delete(ctx, unstructuredIstio("typo", nil))).To(Succeed())
	})

	t.Run("spec.namespace is immutable", func(t *testing.T) {
		g := NewWithT(t)
		istio := newIstio("immutable", "istio-system", nil)
		g.Expect(c.Create(ctx, istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Spec.Namespace = "elsewhere"
		g.Expect(c.Patch(ctx, istio, patch)).To(MatchError(ContainSubstring("spec.namespace is immutable")))
		g.Expect(c.Delete(ctx, istio)).To(Succeed())
	})

	t.Run("a missing namespace is reported, and the Istio recovers when it appears", func(t *testing.T) {
		g := NewWithT(t)
		istio := newIstio("later", "mesh-later", nil)
		g.Expect(c.Create(ctx, istio)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, client.ObjectKey{Name: "later"}, istio)
			if cond := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionReconciled); cond != nil {
				return cond.Reason + ": " + cond.Message
			}
			return ""
		}, timeout).Should(And(HavePrefix(sailv1.ReasonNamespaceNotFound), ContainSubstring(`"mesh-later" does not exist`)))
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "mesh-later", Name: "istiod-later"}, &corev1.Service{})).NotTo(Succeed(),
			"nothing is applied while the namespace is missing")

		env.CreateNamespace(t, "mesh-later")
		g.Eventually(condition(c, "later", sailv1.ConditionReconciled), timeout).Should(Equal(metav1.ConditionTrue))
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "mesh-later", Name: "istiod-later"}, &corev1.Service{})).To(Succeed())
	})

	t.Run("a value the chart refuses is reported as a render error and nothing is applied", func(t *testing.T) {
		g := NewWithT(t)
		env.CreateNamespace(t, "mesh-render")
		istio := newIstio("render", "mesh-render", nil)
		istio.Spec.Values.CompatibilityVersion = "0.9"
		g.Expect(c.Create(ctx, istio)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, client.ObjectKey{Name: "render"}, istio)
			if cond := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionReconciled); cond != nil {
				return cond.Reason + ": " + cond.Message
			}
			return ""
		}, timeout).Should(And(HavePrefix(sailv1.ReasonRenderError), ContainSubstring("unknown compatibility version 0.9")))
		g.Expect(istio.Status.State).To(Equal(sailv1.StateReconcileError))
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "mesh-render", Name: "istiod-render"}, &corev1.Service{})).NotTo(Succeed(),
			"an invalid render applies nothing")
	})
}
