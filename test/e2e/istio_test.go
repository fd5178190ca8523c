package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

const waitFor = 90 * time.Second

func rawJSON(v any) *apiextensionsv1.JSON {
	data, _ := json.Marshal(v)
	return &apiextensionsv1.JSON{Raw: data}
}

func readyStatus(ctx context.Context, c client.Client, name string) func() string {
	return func() string {
		istio := &sailv1.Istio{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, istio); err != nil {
			return err.Error()
		}
		cond := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionReady)
		if cond == nil || istio.Status.ObservedGeneration != istio.Generation {
			return "pending"
		}
		return string(cond.Status) + ": " + cond.Message
	}
}

func deploymentEnv(d *appsv1.Deployment, name string) string {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// managedObjects lists what Sail applied in the cluster, by kind, for the kinds Istio's charts render.
func managedObjects(ctx context.Context, c client.Client, ownerName string) []string {
	kinds := []string{"v1/ConfigMapList", "v1/ServiceList", "v1/ServiceAccountList", "apps/v1/DeploymentList",
		"rbac.authorization.k8s.io/v1/ClusterRoleList", "rbac.authorization.k8s.io/v1/ClusterRoleBindingList",
		"rbac.authorization.k8s.io/v1/RoleList", "rbac.authorization.k8s.io/v1/RoleBindingList",
		"admissionregistration.k8s.io/v1/MutatingWebhookConfigurationList",
		"admissionregistration.k8s.io/v1/ValidatingWebhookConfigurationList",
		"policy/v1/PodDisruptionBudgetList", "autoscaling/v2/HorizontalPodAutoscalerList"}
	var out []string
	for _, k := range kinds {
		list := &unstructured.UnstructuredList{}
		i := len(k) - 1
		for k[i] != '/' {
			i--
		}
		list.SetAPIVersion(k[:i])
		list.SetKind(k[i+1:])
		if err := c.List(ctx, list, client.MatchingLabels{apply.LabelManagedBy: apply.LabelManagedByValue, apply.LabelOwnerName: ownerName}); err != nil {
			out = append(out, "error listing "+k+": "+err.Error())
			continue
		}
		for _, item := range list.Items {
			out = append(out, item.GetKind()+" "+item.GetNamespace()+"/"+item.GetName())
		}
	}
	return out
}

func TestIstio_InstallUpdateRepairDelete(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	op, err := cluster.StartOperator(t.TempDir(), "operator")
	g.Expect(err).NotTo(HaveOccurred())
	defer op.Stop()
	defer op.DumpLogOnFailure(t)

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-e2e"}}
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, ns))).To(Succeed())
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "e2e"}, Spec: sailv1.IstioSpec{
		Version: "v1.30-latest", Namespace: "istio-e2e",
		Values: &sailv1.Values{Pilot: &sailv1.PilotConfig{Env: rawJSON(map[string]string{"E2E_MARK": "one"})}},
	}}
	start := time.Now()
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	g.Eventually(readyStatus(ctx, c, "e2e"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	t.Logf("Istio Ready %s after creation", time.Since(start).Round(time.Millisecond))

	deploy := &appsv1.Deployment{}
	key := client.ObjectKey{Namespace: "istio-e2e", Name: "istiod-e2e"}
	g.Expect(c.Get(ctx, key, deploy)).To(Succeed())
	g.Expect(deploymentEnv(deploy, "E2E_MARK")).To(Equal("one"))
	g.Expect(deploy.Spec.Template.Spec.Containers[0].Image).To(Equal("docker.io/istio/pilot:1.30.0"))
	g.Expect(deploy.Status.ReadyReplicas).To(BeNumerically(">=", 1), "kwok runs the pods")
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "e2e"}, istio)).To(Succeed())
	g.Expect(istio.Status.Version).To(Equal("v1.30.0"))
	g.Expect(istio.Status.State).To(Equal(sailv1.StateHealthy))

	t.Run("a values change rolls out and the Istio is Ready again", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "e2e"}, istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Spec.Values.Pilot.Env = rawJSON(map[string]string{"E2E_MARK": "two"})
		g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
		g.Eventually(readyStatus(ctx, c, "e2e"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
		g.Expect(c.Get(ctx, key, deploy)).To(Succeed())
		g.Expect(deploymentEnv(deploy, "E2E_MARK")).To(Equal("two"))
		g.Expect(deploy.Status.UpdatedReplicas).To(Equal(deploy.Status.Replicas), "the rollout finished before Ready")
	})

	t.Run("an in-place upgrade to the next minor version", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "e2e"}, istio)).To(Succeed())
		patch := client.MergeFrom(istio.DeepCopy())
		istio.Spec.Version = "v1.31.0"
		g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
		g.Eventually(func() string {
			_ = c.Get(ctx, key, deploy)
			return deploy.Spec.Template.Spec.Containers[0].Image
		}, waitFor).Should(Equal("docker.io/istio/pilot:1.31.0"))
		g.Eventually(readyStatus(ctx, c, "e2e"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	})

	t.Run("a deleted Deployment is recreated", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Delete(ctx, deploy)).To(Succeed())
		g.Eventually(func() bool {
			fresh := &appsv1.Deployment{}
			return c.Get(ctx, key, fresh) == nil && fresh.UID != deploy.UID
		}, waitFor).Should(BeTrue())
		g.Eventually(readyStatus(ctx, c, "e2e"), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))
	})

	t.Run("deleting the Istio leaves nothing behind", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(managedObjects(ctx, c, "e2e")).NotTo(BeEmpty())
		g.Expect(c.Delete(ctx, istio)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "e2e"}, &sailv1.Istio{}))
		}, waitFor).Should(BeTrue())
		g.Eventually(func() []string { return managedObjects(ctx, c, "e2e") }, waitFor).Should(BeEmpty())
		pods := &corev1.PodList{}
		g.Eventually(func() int {
			_ = c.List(ctx, pods, client.InNamespace("istio-e2e"))
			return len(pods.Items)
		}, waitFor).Should(BeZero(), "istiod's pods go away with the Deployment")
		crd := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "virtualservices.networking.istio.io"}, crd)).To(Succeed(),
			"Istio's CRDs are never deleted")
	})
}
