package sailctl

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// TestPrecheckAgainstAPIServer runs sailctl precheck against a real API server holding Sail's CRDs, revisions
// written as the operator writes them, an old Gateway API CRD and a workload on an old revision.
func TestPrecheckAgainstAPIServer(t *testing.T) {
	g := NewWithT(t)
	env := testenv.Start(t)
	c := env.Client
	kubeconfig := writeKubeconfig(t, env.Config)

	inplace := createIstio(g, c, "inplace", "v1.31.0", nil)
	createRevision(g, c, inplace, "inplace", "v1.31.0")
	canary := createIstio(g, c, "canary", "v1.30.0", &sailv1.IstioUpdateStrategy{
		Type: sailv1.UpdateStrategyRevisionBased, UpdateWorkloads: true})
	createRevision(g, c, canary, "canary-v1-30-0", "v1.30.0")
	createWorkload(g, c, "apps", "web", "canary-v1-30-0")
	createGatewayCRD(g, c, "v1.2.0")

	t.Run("an in-place downgrade is refused, and the old Gateway API CRDs are reported", func(t *testing.T) {
		g := NewWithT(t)
		out, code := runPrecheck(t, "--kubeconfig", kubeconfig, "--version", "v1.30.0")
		g.Expect(code).To(Equal(2), out)
		g.Expect(out).To(ContainSubstring("error     revisions"))
		g.Expect(out).To(MatchRegexp(`Istio inplace: the change would be refused \(DowngradeRefused\)`))
		g.Expect(out).To(MatchRegexp(`info +kubernetes-version +Kubernetes v1\.\d+\.\d+ meets Istio v1\.30\.0's minimum of v1\.32`))
		g.Expect(out).To(ContainSubstring("CRD gateways.gateway.networking.k8s.io is Gateway API v1.2.0, older than v1.5.1"))
		g.Expect(out).To(ContainSubstring("IstioRevision canary-v1-30-0 already runs v1.30.0"))
	})

	t.Run("an upgrade of the canary creates a revision, retires the old one and restarts its workloads", func(t *testing.T) {
		g := NewWithT(t)
		out, code := runPrecheck(t, "--kubeconfig", kubeconfig, "--version", "v1.31.0")
		g.Expect(code).To(Equal(1), "warnings only: the Gateway API CRDs and the restarts\n"+out)
		g.Expect(out).To(ContainSubstring("IstioRevision canary-v1-31-0 would be created at v1.31.0"))
		g.Expect(out).To(ContainSubstring("IstioRevision canary-v1-30-0 (v1.30.0) would be retired once nothing uses it"))
		g.Expect(out).To(ContainSubstring("updateWorkloads would restart 1 workload(s) to move them to canary-v1-31-0: Deployment apps/web"))
		g.Expect(out).To(ContainSubstring("Worst finding: warning"))

		var stdout, stderr bytes.Buffer
		code = Execute([]string{"precheck", "--kubeconfig", kubeconfig, "--version", "v1.31.0", "-o", "json"}, nil, &stdout, &stderr)
		g.Expect(code).To(Equal(1), stderr.String())
		var report struct {
			Findings []struct{ Severity, Check, Message string }
			Worst    string
		}
		g.Expect(json.Unmarshal(stdout.Bytes(), &report)).To(Succeed(), stdout.String())
		g.Expect(report.Worst).To(Equal("warning"))
		g.Expect(report.Findings).To(ContainElement(HaveField("Message",
			ContainSubstring("IstioRevision canary-v1-31-0 would be created at v1.31.0"))))
		g.Expect(report.Findings).To(ContainElement(HaveField("Check", "workloads")))
	})

	t.Run("an IstioCNI newer than a control plane it serves is an error", func(t *testing.T) {
		g := NewWithT(t)
		file := filepath.Join(t.TempDir(), "cni.yaml")
		g.Expect(os.WriteFile(file, []byte("apiVersion: sailoperator.io/v1\nkind: IstioCNI\nmetadata:\n  name: default\n"+
			"spec:\n  version: v1.31.0\n"), 0o600)).To(Succeed())
		out, code := runPrecheck(t, "--kubeconfig", kubeconfig, "-f", file)
		g.Expect(code).To(Equal(2), out)
		g.Expect(out).To(ContainSubstring("IstioCNI v1.31.0 would be newer than the control plane of IstioRevision canary-v1-30-0 (v1.30.0)"))
	})

	t.Run("a user without permissions is told what is missing", func(t *testing.T) {
		g := NewWithT(t)
		cfg := rest.CopyConfig(env.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "nobody"}
		file := filepath.Join(t.TempDir(), "istio.yaml")
		g.Expect(os.WriteFile(file, []byte("apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata:\n  name: default\n"), 0o600)).To(Succeed())
		out, code := runPrecheck(t, "--kubeconfig", writeImpersonatingKubeconfig(t, cfg), "-f", file)
		g.Expect(code).To(Equal(2), out)
		g.Expect(out).To(ContainSubstring("you may not create istios.sailoperator.io to create the Istio"))
		g.Expect(out).To(ContainSubstring("you may not list pods to see which workloads an upgrade restarts"))
	})

	t.Run("an unknown field names the file and the document", func(t *testing.T) {
		g := NewWithT(t)
		file := filepath.Join(t.TempDir(), "bad.yaml")
		g.Expect(os.WriteFile(file, []byte("apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata:\n  name: x\nspec:\n  versoin: v1.31.0\n"), 0o600)).To(Succeed())
		var stdout, stderr bytes.Buffer
		code := Execute([]string{"precheck", "--kubeconfig", kubeconfig, "-f", file}, nil, &stdout, &stderr)
		g.Expect(code).To(Equal(ExitUsage))
		g.Expect(stderr.String()).To(And(ContainSubstring(file+": document 1 (Istio x)"), ContainSubstring("versoin")))
	})
}

// writeImpersonatingKubeconfig writes a kubeconfig that reaches cfg's API server as cfg's impersonated user.
func writeImpersonatingKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	path := writeKubeconfig(t, cfg)
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kc.AuthInfos["admin"].Impersonate = cfg.Impersonate.UserName
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func runPrecheck(t *testing.T, args ...string) (string, int) {
	var stdout, stderr bytes.Buffer
	code := Execute(append([]string{"precheck"}, args...), nil, &stdout, &stderr)
	t.Logf("sailctl precheck %v (exit %d):\n%s%s", args, code, stdout.String(), stderr.String())
	return stdout.String() + stderr.String(), code
}

func createIstio(g Gomega, c client.Client, name, version string, us *sailv1.IstioUpdateStrategy) *sailv1.Istio {
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: sailv1.IstioSpec{Version: version, Namespace: "istio-system", UpdateStrategy: us}}
	g.Expect(c.Create(context.Background(), istio)).To(Succeed())
	return istio
}

// createRevision writes an IstioRevision controlled by istio, Ready at version, as the operator would.
func createRevision(g Gomega, c client.Client, istio *sailv1.Istio, name, version string) {
	rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: name,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: sailv1.GroupVersion.String(), Kind: sailv1.IstioKind,
			Name: istio.Name, UID: istio.UID, Controller: ptr.To(true)}}},
		Spec: sailv1.IstioRevisionSpec{Version: version, Namespace: "istio-system", Values: &sailv1.Values{Revision: name}}}
	g.Expect(c.Create(context.Background(), rev)).To(Succeed())
	rev.Status.ReadyVersion = version
	g.Expect(c.Status().Update(context.Background(), rev)).To(Succeed())
}

// createWorkload creates a namespace selecting rev, and a Deployment's ReplicaSet with one injected pod of rev.
func createWorkload(g Gomega, c client.Client, ns, name, rev string) {
	ctx := context.Background()
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: map[string]string{"istio.io/rev": rev}}})).To(Succeed())
	labels := map[string]string{"app": name}
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}}}
	g.Expect(c.Create(ctx, deploy)).To(Succeed())
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-1",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: name, UID: deploy.UID, Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Selector: deploy.Spec.Selector, Template: deploy.Spec.Template}}
	g.Expect(c.Create(ctx, rs)).To(Succeed())
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-1-a", Labels: labels,
		Annotations:     map[string]string{"istio.io/rev": rev},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)}}},
		Spec: spec}
	g.Expect(c.Create(ctx, pod)).To(Succeed())
}

// createGatewayCRD installs a minimal gateways.gateway.networking.k8s.io CRD of Gateway API release bundle.
func createGatewayCRD(g Gomega, c client.Client, bundle string) {
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gateways.gateway.networking.k8s.io",
			Annotations: map[string]string{"gateway.networking.k8s.io/bundle-version": bundle,
				"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/2466"}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "gateway.networking.k8s.io", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "gateways", Singular: "gateway", Kind: "Gateway", ListKind: "GatewayList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true)}}}}}}
	g.Expect(c.Create(context.Background(), crd)).To(Succeed())
}
