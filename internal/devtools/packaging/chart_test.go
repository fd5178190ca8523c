package packaging

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// repoRoot is the repository's root folder.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

func chartDir() string { return filepath.Join(repoRoot(), "deploy", "chart") }

const testNS = "sail-system"

func render(t *testing.T, values map[string]any) []*unstructured.Unstructured {
	t.Helper()
	objs, err := RenderChart(chartDir(), Release{Name: "sail-operator", Namespace: testNS, Values: values})
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	return objs
}

// decode converts a rendered object into its Go type, failing on unknown fields.
func decode[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	if u == nil {
		t.Fatal("object not rendered")
	}
	out := new(T)
	if err := convert(u.Object, out); err != nil {
		t.Fatalf("%s %s does not decode: %v", u.GetKind(), u.GetName(), err)
	}
	return out
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	return decode[appsv1.Deployment](t, Find(objs, "Deployment", "sail-operator"))
}

func TestChart_CopiesOfGeneratedFilesAreUpToDate(t *testing.T) {
	g := NewWithT(t)
	root := repoRoot()
	generated, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(generated).NotTo(BeEmpty())
	copies, err := filepath.Glob(filepath.Join(chartDir(), "files", "crds", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	names := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	g.Expect(names(copies)).To(Equal(names(generated)),
		"deploy/chart/files/crds must hold exactly config/crd/bases: run `make gen` (hack/chartcrds)")
	pairs := map[string]string{filepath.Join(root, "config", "rbac", "role.yaml"): filepath.Join(chartDir(), "files", "rbac", "role.yaml")}
	for _, f := range generated {
		pairs[f] = filepath.Join(chartDir(), "files", "crds", filepath.Base(f))
	}
	for src, dst := range pairs {
		a, err := os.ReadFile(src)
		g.Expect(err).NotTo(HaveOccurred())
		b, err := os.ReadFile(dst)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(bytes.Equal(a, b)).To(BeTrue(), "%s differs from %s: run `make gen` (hack/chartcrds)", dst, src)
	}
}

func TestChart_DefaultsRenderAnOperatorThatFollowsTheSecurityBaseline(t *testing.T) {
	g := NewWithT(t)
	objs := render(t, nil)
	var kinds []string
	for _, u := range objs {
		kinds = append(kinds, u.GetKind())
		if u.GetKind() != "CustomResourceDefinition" && u.GetKind() != "ClusterRole" && u.GetKind() != "ClusterRoleBinding" {
			g.Expect(u.GetNamespace()).To(Equal(testNS), "%s %s lives in the release namespace", u.GetKind(), u.GetName())
		}
	}
	slices.Sort(kinds)
	g.Expect(slices.Compact(kinds)).To(Equal([]string{"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
		"Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"}), Kinds(objs))
	g.Expect(OfKind(objs, "CustomResourceDefinition")).To(HaveLen(crdCount(t)))
	g.Expect(OfKind(objs, "ServiceMonitor")).To(BeEmpty(), "the ServiceMonitor is off by default")
	g.Expect(OfKind(objs, "PodDisruptionBudget")).To(BeEmpty())
	decode[corev1.ServiceAccount](t, Find(objs, "ServiceAccount", "sail-operator"))

	d := deployment(t, objs)
	g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(1))
	g.Expect(d.Spec.Selector.MatchLabels).To(Equal(d.Spec.Template.Labels))
	pod := d.Spec.Template.Spec
	g.Expect(pod.ServiceAccountName).To(Equal("sail-operator"))
	g.Expect(pod.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
	g.Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	g.Expect(pod.SecurityContext.RunAsUser).To(BeNil(), "left to the image (65532) or the platform (OpenShift)")
	g.Expect(pod.HostNetwork || pod.HostPID || pod.HostIPC).To(BeFalse())
	g.Expect(pod.Containers).To(HaveLen(1))
	c := pod.Containers[0]
	g.Expect(c.Image).To(Equal("ghcr.io/sail-mesh/sail-operator:" + chartAppVersion(t)))
	chrt, err := LoadChart(chartDir())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Image).To(Equal(DefaultImage(chrt, "")), "the image the bundle and `make image` name is the chart's")
	sc := c.SecurityContext
	g.Expect(sc).NotTo(BeNil())
	g.Expect(sc.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
	g.Expect(sc.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
	g.Expect(sc.RunAsNonRoot).To(HaveValue(BeTrue()))
	g.Expect(sc.Privileged).To(Or(BeNil(), HaveValue(BeFalse())))
	g.Expect(sc.Capabilities.Drop).To(Equal([]corev1.Capability{"ALL"}))
	g.Expect(sc.Capabilities.Add).To(BeEmpty())

	g.Expect(c.Resources.Requests.Cpu().IsZero()).To(BeFalse())
	g.Expect(c.Resources.Requests.Memory().IsZero()).To(BeFalse())
	g.Expect(c.Resources.Limits.Cpu().IsZero()).To(BeFalse())
	g.Expect(c.Resources.Limits.Memory().IsZero()).To(BeFalse())

	g.Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
	g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		port := p.HTTPGet.Port
		g.Expect(port.String()).To(Equal("health"))
		g.Expect(c.Ports).To(ContainElement(corev1.ContainerPort{Name: "health", ContainerPort: 8081, Protocol: corev1.ProtocolTCP}))
	}
	g.Expect(c.Args).To(ContainElement("--health-probe-bind-address=:8081"))
	g.Expect(c.Args).To(ContainElement("--leader-elect"))
	g.Expect(c.Args).To(ContainElement("--metrics-bind-address=:8443"))
	g.Expect(c.Args).NotTo(ContainElement(HavePrefix("--leader-election-namespace")),
		"the lease lives in the pod's namespace, the operator's default")
	g.Expect(c.Ports).To(ContainElement(corev1.ContainerPort{Name: "metrics", ContainerPort: 8443, Protocol: corev1.ProtocolTCP}))

	g.Expect(c.Env).NotTo(ContainElement(HaveField("Name", "GOMEMLIMIT")),
		"the operator derives its Go memory limit from the container's memory limit; GOMEMLIMIT would override that")
	g.Expect(c.VolumeMounts).To(ContainElement(corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"}),
		"a writable /tmp on the read-only root filesystem")

	svc := decode[corev1.Service](t, Find(objs, "Service", "sail-operator-metrics"))
	g.Expect(svc.Spec.Selector).To(Equal(d.Spec.Template.Labels))
	g.Expect(svc.Spec.Ports).To(HaveLen(1))
	g.Expect(svc.Spec.Ports[0].Name).To(Equal("https"))
	g.Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(8443))
	g.Expect(svc.Spec.Ports[0].TargetPort.String()).To(Equal("metrics"))
	reader := decode[rbacv1.ClusterRole](t, Find(objs, "ClusterRole", "sail-operator-metrics-reader"))
	g.Expect(reader.Rules).To(Equal([]rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}))
}

func TestChart_RBACIsTheGeneratedRBAC(t *testing.T) {
	g := NewWithT(t)
	objs := render(t, nil)
	clusterRules, roleRules, err := GeneratedRules(repoRoot())
	g.Expect(err).NotTo(HaveOccurred())

	cr := decode[rbacv1.ClusterRole](t, Find(objs, "ClusterRole", "sail-operator"))
	g.Expect(cr.Rules).To(Equal(clusterRules), "the chart's ClusterRole is config/rbac/role.yaml's")
	role := decode[rbacv1.Role](t, Find(objs, "Role", "sail-operator-leader-election"))
	g.Expect(role.Namespace).To(Equal(testNS))
	g.Expect(role.Rules).To(Equal(roleRules), "the chart's leader election Role is config/rbac/role.yaml's")
	g.Expect(role.Rules).To(HaveLen(1))
	g.Expect(role.Rules[0].Resources).To(Equal([]string{"leases"}))

	subject := rbacv1.Subject{Kind: "ServiceAccount", Name: "sail-operator", Namespace: testNS}
	crb := decode[rbacv1.ClusterRoleBinding](t, Find(objs, "ClusterRoleBinding", "sail-operator"))
	g.Expect(crb.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "sail-operator"}))
	g.Expect(crb.Subjects).To(Equal([]rbacv1.Subject{subject}))
	rb := decode[rbacv1.RoleBinding](t, Find(objs, "RoleBinding", "sail-operator-leader-election"))
	g.Expect(rb.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "sail-operator-leader-election"}))
	g.Expect(rb.Subjects).To(Equal([]rbacv1.Subject{subject}))

	// Least privilege: nothing on everything, and leases only in the operator's namespace.
	for _, r := range clusterRules {
		g.Expect(r.Verbs).NotTo(ContainElement("*"), "rule %v", r)
		g.Expect(r.Resources).NotTo(ContainElement("*"), "rule %v", r)
		g.Expect(r.APIGroups).NotTo(ContainElement("*"), "rule %v", r)
		g.Expect(r.Resources).NotTo(ContainElement("leases"), "leases are namespaced: rule %v", r)
		if slices.Contains(r.Resources, "secrets") {
			g.Expect(r.Resources).To(Equal([]string{"secrets"}), "Secrets have a rule of their own: %v", r)
			g.Expect(r.Verbs).To(ConsistOf("get", "list"), "remote secrets are read, never watched or written: %v", r)
		}
	}
}

func TestChart_CRDsAreTheGeneratedCRDs(t *testing.T) {
	g := NewWithT(t)
	want := map[string]*apiextensionsv1.CustomResourceDefinition{}
	files, _ := filepath.Glob(filepath.Join(repoRoot(), "config", "crd", "bases", "*.yaml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		g.Expect(err).NotTo(HaveOccurred())
		crd := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(yaml.UnmarshalStrict(data, crd)).To(Succeed())
		want[crd.Name] = crd
	}

	objs := render(t, nil)
	rendered := OfKind(objs, "CustomResourceDefinition")
	g.Expect(rendered).To(HaveLen(len(want)))
	for _, u := range rendered {
		got := decode[apiextensionsv1.CustomResourceDefinition](t, u)
		w, ok := want[got.Name]
		g.Expect(ok).To(BeTrue(), "unexpected CRD %s", got.Name)
		g.Expect(got.Annotations).To(HaveKeyWithValue("helm.sh/resource-policy", "keep"))
		g.Expect(got.Labels).To(HaveKeyWithValue("app.kubernetes.io/part-of", "sail"))
		// Apart from the chart's label and annotation, it is the generated CRD, field by field.
		delete(got.Annotations, "helm.sh/resource-policy")
		got.Labels = w.Labels
		g.Expect(equality.Semantic.DeepEqual(got, w)).To(BeTrue(), "rendered CRD %s differs from config/crd/bases", got.Name)
	}

	g.Expect(OfKind(render(t, map[string]any{"crds": map[string]any{"install": false}}), "CustomResourceDefinition")).
		To(BeEmpty())
	for _, u := range OfKind(render(t, map[string]any{"crds": map[string]any{"keep": false}}), "CustomResourceDefinition") {
		g.Expect(u.GetAnnotations()).NotTo(HaveKey("helm.sh/resource-policy"))
	}
}

func TestChart_Values(t *testing.T) {
	t.Run("replicas, scheduling, image digest and extra args", func(t *testing.T) {
		g := NewWithT(t)
		objs := render(t, map[string]any{
			"replicaCount":        3,
			"image":               map[string]any{"repository": "registry.example/sail", "digest": "sha256:" + strings.Repeat("ab", 32), "pullPolicy": "Always"},
			"nodeSelector":        map[string]any{"kubernetes.io/os": "linux"},
			"tolerations":         []any{map[string]any{"key": "infra", "operator": "Exists", "effect": "NoSchedule"}},
			"affinity":            map[string]any{"podAntiAffinity": map[string]any{"preferredDuringSchedulingIgnoredDuringExecution": []any{map[string]any{"weight": 100, "podAffinityTerm": map[string]any{"topologyKey": "kubernetes.io/hostname", "labelSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "sail-operator"}}}}}}},
			"extraArgs":           []any{"--max-concurrent-reconciles=8", "--zap-devel"},
			"extraEnv":            []any{map[string]any{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}},
			"podLabels":           map[string]any{"team": "mesh"},
			"imagePullSecrets":    []any{map[string]any{"name": "pull"}},
			"podDisruptionBudget": map[string]any{"enabled": true},
			"leaderElection":      map[string]any{"leaseDuration": "30s"},
			"operator":            map[string]any{"platform": "openshift", "manageIstioCRDs": false},
		})
		d := deployment(t, objs)
		g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(3))
		pod := d.Spec.Template.Spec
		c := pod.Containers[0]
		g.Expect(c.Image).To(Equal("registry.example/sail@sha256:" + strings.Repeat("ab", 32)))
		g.Expect(c.ImagePullPolicy).To(Equal(corev1.PullAlways))
		g.Expect(pod.NodeSelector).To(Equal(map[string]string{"kubernetes.io/os": "linux"}))
		g.Expect(pod.Tolerations).To(HaveLen(1))
		g.Expect(pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution).To(HaveLen(1))
		g.Expect(pod.ImagePullSecrets).To(Equal([]corev1.LocalObjectReference{{Name: "pull"}}))
		g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue("team", "mesh"))
		g.Expect(d.Spec.Selector.MatchLabels).NotTo(HaveKey("team"), "the selector never changes")
		g.Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "HTTPS_PROXY", Value: "http://proxy:3128"}))
		g.Expect(c.Args).To(ContainElements("--leader-elect", "--leader-election-lease-duration=30s",
			"--platform=openshift", "--manage-istio-crds=false", "--zap-devel"))
		// Extra args come last, so they override the chart's own setting of a flag.
		g.Expect(c.Args[len(c.Args)-2:]).To(Equal([]string{"--max-concurrent-reconciles=8", "--zap-devel"}))
		pdb := decode[policyv1.PodDisruptionBudget](t, Find(objs, "PodDisruptionBudget", "sail-operator"))
		g.Expect(pdb.Spec.MinAvailable.IntValue()).To(Equal(1))
		g.Expect(pdb.Spec.Selector.MatchLabels).To(Equal(d.Spec.Selector.MatchLabels))
	})

	t.Run("a ServiceMonitor scrapes the metrics Service over HTTPS", func(t *testing.T) {
		g := NewWithT(t)
		objs := render(t, map[string]any{"metrics": map[string]any{"serviceMonitor": map[string]any{
			"enabled": true, "labels": map[string]any{"release": "prometheus"}}}})
		sms := OfKind(objs, "ServiceMonitor")
		g.Expect(sms).To(HaveLen(1))
		sm := sms[0]
		g.Expect(sm.GetAPIVersion()).To(Equal("monitoring.coreos.com/v1"))
		g.Expect(sm.GetLabels()).To(HaveKeyWithValue("release", "prometheus"))
		endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		g.Expect(endpoints).To(HaveLen(1))
		ep := endpoints[0].(map[string]any)
		g.Expect(ep).To(HaveKeyWithValue("port", "https"))
		g.Expect(ep).To(HaveKeyWithValue("scheme", "https"))
		g.Expect(ep).To(HaveKey("bearerTokenFile"))
		sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		svc := Find(objs, "Service", "sail-operator-metrics")
		for k, v := range sel {
			g.Expect(svc.GetLabels()).To(HaveKeyWithValue(k, v), "the ServiceMonitor selects the metrics Service")
		}
	})

	t.Run("metrics off: no Service, no reader role, no endpoint", func(t *testing.T) {
		g := NewWithT(t)
		objs := render(t, map[string]any{"metrics": map[string]any{"enabled": false, "serviceMonitor": map[string]any{"enabled": true}}})
		g.Expect(OfKind(objs, "Service")).To(BeEmpty())
		g.Expect(OfKind(objs, "ServiceMonitor")).To(BeEmpty())
		g.Expect(Find(objs, "ClusterRole", "sail-operator-metrics-reader")).To(BeNil())
		g.Expect(deployment(t, objs).Spec.Template.Spec.Containers[0].Args).To(ContainElement("--metrics-bind-address=0"))
	})

	t.Run("no memory limit: no GOMEMLIMIT", func(t *testing.T) {
		g := NewWithT(t)
		objs := render(t, map[string]any{"resources": map[string]any{"limits": nil}})
		c := deployment(t, objs).Spec.Template.Spec.Containers[0]
		g.Expect(c.Resources.Limits).To(BeEmpty())
		g.Expect(slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMEMLIMIT" })).To(BeFalse())
	})

	t.Run("names follow the release, or an existing ServiceAccount", func(t *testing.T) {
		g := NewWithT(t)
		objs, err := RenderChart(chartDir(), Release{Name: "mesh", Namespace: "ops", Values: map[string]any{
			"serviceAccount": map[string]any{"create": false, "name": "existing"}}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(OfKind(objs, "ServiceAccount")).To(BeEmpty())
		d := decode[appsv1.Deployment](t, Find(objs, "Deployment", "mesh-sail-operator"))
		g.Expect(d.Spec.Template.Spec.ServiceAccountName).To(Equal("existing"))
		crb := decode[rbacv1.ClusterRoleBinding](t, Find(objs, "ClusterRoleBinding", "mesh-sail-operator"))
		g.Expect(crb.Subjects).To(Equal([]rbacv1.Subject{{Kind: "ServiceAccount", Name: "existing", Namespace: "ops"}}))
	})

	t.Run("the values schema rejects unknown keys and wrong types", func(t *testing.T) {
		for _, bad := range []map[string]any{
			{"replicas": 2},
			{"replicaCount": "two"},
			{"image": map[string]any{"pullPolicy": "Sometimes"}},
			{"operator": map[string]any{"platform": "mars"}},
			{"leaderElection": map[string]any{"leaseDuration": "15"}},
			{"extraArgs": []any{"leader-elect"}},
		} {
			_, err := RenderChart(chartDir(), Release{Name: "sail-operator", Namespace: testNS, Values: bad})
			NewWithT(t).Expect(err).To(HaveOccurred(), "values %v", bad)
		}
	})
}

func crdCount(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

func chartAppVersion(t *testing.T) string {
	t.Helper()
	c, err := LoadChart(chartDir())
	if err != nil {
		t.Fatal(err)
	}
	return c.Metadata.AppVersion
}
