package istiorevision_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// TestIstioRevision_ExternalIstiod installs an Istio with values.global.externalIstiod: istiod's Deployment and
// Service are applied, but no admission webhook, no Istio CRD and no base chart object; the Deployment requires
// the istio-kubeconfig Secret and mounts the local mesh and injector ConfigMaps; IstioCRDs says why there are no
// CRDs and Ready, until istiod is ready, names the Secret it waits for.
func TestIstioRevision_ExternalIstiod(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	c := env.Client
	env.StartOperator(t)
	env.CreateNamespace(t, "external-istiod")
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{Version: "v1.31.0",
		Namespace: "external-istiod", Values: &sailv1.Values{Global: &sailv1.GlobalConfig{ExternalIstiod: ptr.To(true),
			MultiCluster: &sailv1.MultiClusterConfig{ClusterName: "cluster-b"}}}}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())

	rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	g.Eventually(testenv.ConditionOf(c, rev, sailv1.ConditionIstioCRDs), timeout).
		Should(Equal("True/" + sailv1.ReasonCRDsNotNeeded))
	g.Expect(testenv.ConditionOf(c, rev, sailv1.ConditionReconciled)()).To(Equal("True/" + sailv1.ReasonReconcileSucceeded))
	ready := testenv.Condition(rev, sailv1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(ready.Message).To(ContainSubstring("Secret external-istiod/istio-kubeconfig"))
	g.Expect(ready.Message).To(ContainSubstring("sailctl create-remote-secret --type config"))

	deploy := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "external-istiod", Name: "istiod"}, deploy)).To(Succeed())
	volumes := map[string]string{}
	for _, v := range deploy.Spec.Template.Spec.Volumes {
		switch {
		case v.Secret != nil && v.Secret.SecretName == "istio-kubeconfig":
			g.Expect(v.Secret.Optional).To(Equal(ptr.To(false)), "istiod must not start without its config cluster")
		case v.ConfigMap != nil:
			volumes[v.Name] = v.ConfigMap.Name
		}
	}
	g.Expect(volumes).To(HaveKeyWithValue("config-volume", "istio"))
	g.Expect(volumes).To(HaveKeyWithValue("inject-volume", "istio-sidecar-injector"))
	g.Expect(testenv.ContainerEnv(deploy, "EXTERNAL_ISTIOD")).To(Equal("true"))

	mutating := &admissionregistrationv1.MutatingWebhookConfigurationList{}
	g.Expect(c.List(ctx, mutating)).To(Succeed())
	g.Expect(mutating.Items).To(BeEmpty())
	validating := &admissionregistrationv1.ValidatingWebhookConfigurationList{}
	g.Expect(c.List(ctx, validating)).To(Succeed())
	g.Expect(validating.Items).To(BeEmpty())
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	g.Expect(c.List(ctx, crds)).To(Succeed())
	for _, crd := range crds.Items {
		g.Expect(crd.Spec.Group).NotTo(HaveSuffix("istio.io"), "Istio CRD %s installed", crd.Name)
	}

	g.Expect(testenv.MarkDeploymentAvailable(ctx, c, client.ObjectKeyFromObject(deploy))).To(Succeed())
	g.Eventually(testenv.ConditionOf(c, rev, sailv1.ConditionReady), timeout).Should(Equal("True/" + sailv1.ReasonReady))
}
