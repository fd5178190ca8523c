package testenv_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

func TestHelpers(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	ctx := context.Background()

	t.Run("CreateNamespace uses a name as given and a prefix ending in - for a generated one", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(env.CreateNamespace(t, "fixed").Name).To(Equal("fixed"))
		a, b := env.CreateNamespace(t, "gen-"), env.CreateNamespace(t, "gen-")
		g.Expect(a.Name).To(HavePrefix("gen-"))
		g.Expect(len(a.Name)).To(BeNumerically(">", len("gen-")))
		g.Expect(a.Name).NotTo(Equal(b.Name))
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(a), &corev1.Namespace{})).To(Succeed())
	})

	t.Run("CreateAndWait returns once a new CRD's kind can be created", func(t *testing.T) {
		g := NewWithT(t)
		env.CreateAndWait(t, widgetCRD())
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("example.com/v1")
		u.SetKind("Widget")
		u.SetName("w")
		u.SetNamespace("fixed")
		g.Expect(c.Create(ctx, u)).To(Succeed())
	})

	t.Run("ConditionOf and ConditionStatusOf read the object again", func(t *testing.T) {
		g := NewWithT(t)
		tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Spec: sailv1.IstioRevisionTagSpec{
			TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: "mesh"}}}
		reason := testenv.ConditionOf(c, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "prod"}}, sailv1.ConditionReconciled)
		status := testenv.ConditionStatusOf(c, &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "prod"}},
			sailv1.ConditionReconciled)
		g.Expect(reason()).To(Equal("missing"))
		g.Expect(status()).To(Equal(metav1.ConditionStatus("missing")))
		g.Expect(c.Create(ctx, tag)).To(Succeed())
		g.Expect(reason()).To(Equal("unset"))

		tag.Status.Conditions = []metav1.Condition{{Type: sailv1.ConditionReconciled, Status: metav1.ConditionFalse,
			Reason: sailv1.ReasonRefNotFound, Message: "no Istio mesh", LastTransitionTime: metav1.Now()}}
		g.Expect(c.Status().Update(ctx, tag)).To(Succeed())
		g.Expect(reason()).To(Equal("False/" + sailv1.ReasonRefNotFound))
		g.Expect(status()).To(Equal(metav1.ConditionFalse))
		g.Expect(testenv.Condition(tag, sailv1.ConditionReconciled).Message).To(Equal("no Istio mesh"))
		g.Expect(testenv.Condition(tag, sailv1.ConditionReady)).To(BeNil())

		tag.Status.Conditions = nil
		g.Expect(c.Status().Update(ctx, tag)).To(Succeed())
		g.Expect(status()).To(Equal(metav1.ConditionStatus("unset")), "removed conditions do not linger in the object")
	})

	t.Run("MarkDeploymentAvailable and MarkDaemonSetReady write their controllers' status", func(t *testing.T) {
		g := NewWithT(t)
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "fixed", Name: "d"}, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "d"}}, Template: podTemplate("d")}}
		ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "fixed", Name: "ds"}, Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ds"}}, Template: podTemplate("ds")}}
		g.Expect(c.Create(ctx, d)).To(Succeed())
		g.Expect(c.Create(ctx, ds)).To(Succeed())
		g.Expect(testenv.MarkDeploymentAvailable(ctx, c, client.ObjectKeyFromObject(d))).To(Succeed())
		g.Expect(testenv.MarkDaemonSetReady(ctx, c, client.ObjectKeyFromObject(ds))).To(Succeed())
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(ds), ds)).To(Succeed())
		g.Expect(d.Status.AvailableReplicas).To(Equal(int32(1)))
		g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
		g.Expect(ds.Status.NumberReady).To(Equal(int32(3)))
		g.Expect(testenv.ContainerEnv(d, "NAME")).To(Equal("d"))
		g.Expect(testenv.ContainerEnv(ds, "NAME")).To(Equal("ds"))
		g.Expect(testenv.ContainerEnv(ds, "OTHER")).To(BeEmpty())
	})
}

func TestJSON(t *testing.T) {
	g := NewWithT(t)
	g.Expect(string(testenv.JSON(map[string]string{"A": "b"}).Raw)).To(Equal(`{"A":"b"}`))
}

func podTemplate(name string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "pause",
			Env: []corev1.EnvVar{{Name: "NAME", Value: name}}}}}}
}

func widgetCRD() *apiextensionsv1.CustomResourceDefinition {
	keep := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: "Widget", Plural: "widgets"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: &keep}}}},
		},
	}
}
