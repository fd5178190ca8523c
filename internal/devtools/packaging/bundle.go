package packaging

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/blang/semver/v4"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	goyaml "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/pipeline/versions"

	"github.com/sail-mesh/sail/internal/pipeline/manifest"
)

// PackageName is the OLM package of the operator.
const PackageName = "sail-operator"

// DefaultChannel is the OLM channel bundles are published to unless told otherwise.
const DefaultChannel = "stable"

// Paths of the generated bundle, relative to the repository root.
const (
	BundleManifestsDir = "bundle/manifests"
	BundleMetadataDir  = "bundle/metadata"
	BundleDockerfile   = "bundle.Dockerfile"
)

var (
	//go:embed icon.svg
	iconSVG []byte
	//go:embed csv-description.md
	csvDescription string
)

// BundleOptions configure GenerateBundle. Only Root is required.
type BundleOptions struct {
	// Root is the repository root; the bundle is made from deploy/chart, config/crd/bases, config/rbac/role.yaml,
	// config/samples and resources/versions.yaml under it.
	Root string
	// Version of the bundle (semver, no "v"); defaults to the chart's appVersion.
	Version string
	// Image of the operator; defaults to the chart's image repository with the version as tag.
	Image string
	// Channels the bundle is in (default: stable) and the package's default channel (default: the first).
	Channels       []string
	DefaultChannel string
}

// GenerateBundle makes the OLM bundle (registry+v1): the ClusterServiceVersion, the CRDs and the other manifests
// under bundle/manifests, bundle/metadata/annotations.yaml and bundle.Dockerfile. It returns file contents by
// path relative to the root; WriteBundle writes them. The operator's Deployment, ServiceAccount name and metrics
// objects come from rendering the Helm chart, the permissions from the generated RBAC, so the chart and the
// bundle install the same thing.
func GenerateBundle(o BundleOptions) (map[string][]byte, error) {
	chartDir := filepath.Join(o.Root, "deploy", "chart")
	chrt, err := LoadChart(chartDir)
	if err != nil {
		return nil, err
	}
	meta := chrt.Metadata
	if o.Version == "" {
		o.Version = meta.AppVersion
	}
	o.Version = strings.TrimPrefix(o.Version, "v")
	ver, err := semver.Parse(o.Version)
	if err != nil {
		return nil, fmt.Errorf("bundle version %q: %w", o.Version, err)
	}
	if len(o.Channels) == 0 {
		o.Channels = []string{DefaultChannel}
	}
	if o.DefaultChannel == "" {
		o.DefaultChannel = o.Channels[0]
	}
	objs, err := Render(chrt, Release{Name: PackageName, Namespace: PackageName,
		Values: map[string]any{"crds": map[string]any{"install": false}}})
	if err != nil {
		return nil, fmt.Errorf("rendering the chart: %w", err)
	}
	if o.Image == "" {
		repo, _ := chrt.Values["image"].(map[string]any)["repository"].(string)
		o.Image = repo + ":" + o.Version
	}

	files := map[string][]byte{}
	manifest := func(name string) string { return BundleManifestsDir + "/" + name }

	// The operator: Deployment, ServiceAccount, permissions.
	dep, err := renderedDeployment(objs)
	if err != nil {
		return nil, err
	}
	for i := range dep.Spec.Template.Spec.Containers {
		if dep.Spec.Template.Spec.Containers[i].Name == "sail-operator" {
			dep.Spec.Template.Spec.Containers[i].Image = o.Image
		}
	}
	sa := dep.Spec.Template.Spec.ServiceAccountName
	clusterRules, roleRules, err := GeneratedRules(o.Root)
	if err != nil {
		return nil, err
	}

	// Sail's CRDs, copied as generated.
	crdFiles, err := filepath.Glob(filepath.Join(o.Root, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		return nil, err
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, f := range crdFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		crds = append(crds, crd)
		files[manifest(filepath.Base(f))] = data
	}
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CRDs in config/crd/bases")
	}
	sort.Slice(crds, func(i, j int) bool { return crds[i].Spec.Names.Kind < crds[j].Spec.Names.Kind })

	owned, examples, internal, err := describeCRDs(o.Root, crds)
	if err != nil {
		return nil, err
	}
	related, err := relatedImages(o.Root, o.Image, crds)
	if err != nil {
		return nil, err
	}

	// Other objects of the chart that OLM can install: the metrics Service and the metrics reader ClusterRole.
	for _, u := range objs {
		var typed any
		var file string
		switch {
		case u.GetKind() == "Service":
			typed, file = &corev1.Service{}, u.GetName()+"_v1_service.yaml"
		case u.GetKind() == "ClusterRole" && strings.HasSuffix(u.GetName(), "-metrics-reader"):
			typed, file = &rbacv1.ClusterRole{}, u.GetName()+"_rbac.authorization.k8s.io_v1_clusterrole.yaml"
		default:
			continue
		}
		if err := convert(u.Object, typed); err != nil {
			return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		m, err := cleanMap(typed)
		if err != nil {
			return nil, err
		}
		md := m["metadata"].(map[string]any)
		delete(md, "namespace") // OLM installs it in the operator's namespace
		if l, ok := md["labels"].(map[string]any); ok {
			for k := range l {
				if !keepLabel(k) {
					delete(l, k)
				}
			}
		}
		data, err := marshalYAML(m)
		if err != nil {
			return nil, err
		}
		files[manifest(file)] = data
	}

	exampleJSON, err := json.Marshal(examples)
	if err != nil {
		return nil, err
	}
	internalJSON, err := json.Marshal(internal)
	if err != nil {
		return nil, err
	}
	minKube, err := minKubeVersion(meta.KubeVersion)
	if err != nil {
		return nil, err
	}
	var maintainers []operatorsv1alpha1.Maintainer
	for _, m := range meta.Maintainers {
		maintainers = append(maintainers, operatorsv1alpha1.Maintainer{Name: m.Name, Email: m.Email})
	}
	labels := map[string]string{}
	for k, v := range dep.Labels {
		if keepLabel(k) {
			labels[k] = v
		}
	}

	csv := &operatorsv1alpha1.ClusterServiceVersion{
		TypeMeta: metav1.TypeMeta{APIVersion: operatorsv1alpha1.SchemeGroupVersion.String(),
			Kind: operatorsv1alpha1.ClusterServiceVersionKind},
		ObjectMeta: metav1.ObjectMeta{
			Name: PackageName + ".v" + ver.String(),
			Annotations: map[string]string{
				"alm-examples":   string(exampleJSON),
				"capabilities":   "Seamless Upgrades",
				"categories":     "Networking,Security",
				"containerImage": o.Image,
				"description":    oneLine(meta.Description),
				"repository":     meta.Home,
				"support":        "Sail maintainers",
				"operators.operatorframework.io/internal-objects": string(internalJSON),
				"operatorframework.io/suggested-namespace":        PackageName,
				// Any earlier version may upgrade straight to this one.
				"olm.skipRange": "<" + ver.String(),
			},
		},
		Spec: operatorsv1alpha1.ClusterServiceVersionSpec{
			DisplayName:    "Sail",
			Description:    csvDescription,
			Keywords:       meta.Keywords,
			Maturity:       "alpha",
			MinKubeVersion: minKube,
			Provider:       operatorsv1alpha1.AppLink{Name: "Sail", URL: meta.Home},
			Maintainers:    maintainers,
			Links: []operatorsv1alpha1.AppLink{
				{Name: "Source code", URL: meta.Home},
				{Name: "Installation", URL: meta.Home + "/blob/main/docs/install.md"},
				{Name: "Istio", URL: "https://istio.io"},
			},
			Icon: []operatorsv1alpha1.Icon{{Data: base64.StdEncoding.EncodeToString(iconSVG), MediaType: "image/svg+xml"}},
			InstallModes: []operatorsv1alpha1.InstallMode{
				{Type: operatorsv1alpha1.InstallModeTypeOwnNamespace, Supported: false},
				{Type: operatorsv1alpha1.InstallModeTypeSingleNamespace, Supported: false},
				{Type: operatorsv1alpha1.InstallModeTypeMultiNamespace, Supported: false},
				{Type: operatorsv1alpha1.InstallModeTypeAllNamespaces, Supported: true},
			},
			CustomResourceDefinitions: operatorsv1alpha1.CustomResourceDefinitions{Owned: owned},
			RelatedImages:             related,
			InstallStrategy: operatorsv1alpha1.NamedInstallStrategy{
				StrategyName: operatorsv1alpha1.InstallStrategyNameDeployment,
				StrategySpec: operatorsv1alpha1.StrategyDetailsDeployment{
					DeploymentSpecs: []operatorsv1alpha1.StrategyDeploymentSpec{
						{Name: dep.Name, Spec: dep.Spec, Label: labels},
					},
					ClusterPermissions: []operatorsv1alpha1.StrategyDeploymentPermissions{
						{ServiceAccountName: sa, Rules: clusterRules},
					},
					Permissions: []operatorsv1alpha1.StrategyDeploymentPermissions{
						{ServiceAccountName: sa, Rules: roleRules},
					},
				},
			},
		},
	}
	csv.Spec.Version.Version = ver
	m, err := cleanMap(csv)
	if err != nil {
		return nil, err
	}
	delete(m["spec"].(map[string]any), "cleanup")
	delete(m["spec"].(map[string]any), "apiservicedefinitions")
	data, err := marshalYAML(m)
	if err != nil {
		return nil, err
	}
	files[manifest(PackageName+".clusterserviceversion.yaml")] = data

	// Metadata and the bundle image's Dockerfile carry the same annotations.
	annotations := [][2]string{
		{"operators.operatorframework.io.bundle.mediatype.v1", "registry+v1"},
		{"operators.operatorframework.io.bundle.manifests.v1", "manifests/"},
		{"operators.operatorframework.io.bundle.metadata.v1", "metadata/"},
		{"operators.operatorframework.io.bundle.package.v1", PackageName},
		{"operators.operatorframework.io.bundle.channels.v1", strings.Join(o.Channels, ",")},
		{"operators.operatorframework.io.bundle.channel.default.v1", o.DefaultChannel},
	}
	var meta2, docker bytes.Buffer
	meta2.WriteString("# Generated by hack/bundle (make bundle); do not edit.\nannotations:\n")
	docker.WriteString("# The OLM bundle image. Generated by hack/bundle (make bundle); do not edit.\n" +
		"# Build from the repository root: docker build -f bundle.Dockerfile -t <bundle image> .\nFROM scratch\n\n")
	for _, a := range annotations {
		fmt.Fprintf(&meta2, "  %s: %s\n", a[0], a[1])
		fmt.Fprintf(&docker, "LABEL %s=%s\n", a[0], a[1])
	}
	docker.WriteString("\nCOPY " + BundleManifestsDir + " /manifests/\nCOPY " + BundleMetadataDir + " /metadata/\n")
	files[BundleMetadataDir+"/annotations.yaml"] = meta2.Bytes()
	files[BundleDockerfile] = docker.Bytes()
	return files, nil
}

// WriteBundle writes the files GenerateBundle made under root and removes files of bundle/manifests and
// bundle/metadata it did not make.
func WriteBundle(root string, files map[string][]byte) error {
	for _, dir := range []string{BundleManifestsDir, BundleMetadataDir} {
		existing, _ := filepath.Glob(filepath.Join(root, dir, "*"))
		for _, f := range existing {
			rel, err := filepath.Rel(root, f)
			if err != nil {
				return err
			}
			if _, ok := files[filepath.ToSlash(rel)]; !ok {
				if err := os.RemoveAll(f); err != nil {
					return err
				}
			}
		}
	}
	for name, data := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
			continue
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// GeneratedRules returns the rules of the ClusterRole and of the (leader election) Role in config/rbac/role.yaml.
func GeneratedRules(root string) (cluster, namespaced []rbacv1.PolicyRule, err error) {
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, nil, err
	}
	objs, err := manifest.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("config/rbac/role.yaml: %w", err)
	}
	var foundCluster, foundRole bool
	for _, u := range objs {
		switch u.GetKind() {
		case "ClusterRole":
			r := &rbacv1.ClusterRole{}
			if err := convert(u.Object, r); err != nil {
				return nil, nil, err
			}
			cluster, foundCluster = r.Rules, true
		case "Role":
			r := &rbacv1.Role{}
			if err := convert(u.Object, r); err != nil {
				return nil, nil, err
			}
			namespaced, foundRole = r.Rules, true
		}
	}
	if !foundCluster || !foundRole {
		return nil, nil, fmt.Errorf("config/rbac/role.yaml must hold a ClusterRole and a Role (leader election)")
	}
	return cluster, namespaced, nil
}

func renderedDeployment(objs []*unstructured.Unstructured) (*appsv1.Deployment, error) {
	deps := OfKind(objs, "Deployment")
	if len(deps) != 1 {
		return nil, fmt.Errorf("the chart renders %d Deployments, want 1", len(deps))
	}
	dep := &appsv1.Deployment{}
	if err := convert(deps[0].Object, dep); err != nil {
		return nil, fmt.Errorf("the chart's Deployment: %w", err)
	}
	return dep, nil
}

// keepLabel drops the labels only Helm releases have.
func keepLabel(k string) bool {
	return k != "helm.sh/chart" && k != "app.kubernetes.io/managed-by"
}

// convert decodes a JSON-like map into a typed object, failing on unknown fields.
func convert(in map[string]any, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return yaml.UnmarshalStrict(data, out)
}

// cleanMap turns a typed object into a map without the empty leftovers of Go structs (null timestamps, empty
// status).
func cleanMap(obj any) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	pruneNil(m)
	delete(m, "status") // what the bundle installs has no status yet
	return m, nil
}

func pruneNil(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if x == nil {
				delete(t, k)
				continue
			}
			pruneNil(x)
			if mm, ok := x.(map[string]any); ok && len(mm) == 0 && k == "strategy" {
				delete(t, k) // an unset Deployment strategy
			}
		}
	case []any:
		for _, x := range t {
			pruneNil(x)
		}
	}
}

// marshalYAML writes YAML with sorted keys and block-style multi-line strings.
func marshalYAML(m map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# Generated by hack/bundle (make bundle); do not edit.\n")
	enc := goyaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// minKubeVersion turns the chart's kubeVersion constraint (">=1.30.0-0") into a version (1.30.0).
func minKubeVersion(constraint string) (string, error) {
	m := regexp.MustCompile(`^>=\s*v?([0-9]+\.[0-9]+\.[0-9]+)(-0)?$`).FindStringSubmatch(strings.TrimSpace(constraint))
	if m == nil {
		return "", fmt.Errorf("the chart's kubeVersion %q is not of the form >=X.Y.Z-0", constraint)
	}
	return m[1], nil
}

// kindResources are the kinds an instance of each of Sail's kinds creates, shown by OLM consoles.
var kindResources = map[string][]operatorsv1alpha1.APIResourceReference{
	"Istio": {{Kind: "IstioRevision", Version: "v1"}},
	"IstioRevision": {{Kind: "Deployment", Version: "v1"}, {Kind: "Service", Version: "v1"},
		{Kind: "ConfigMap", Version: "v1"}, {Kind: "ServiceAccount", Version: "v1"},
		{Kind: "HorizontalPodAutoscaler", Version: "v2"}, {Kind: "PodDisruptionBudget", Version: "v1"},
		{Kind: "MutatingWebhookConfiguration", Version: "v1"}, {Kind: "ValidatingWebhookConfiguration", Version: "v1"},
		{Kind: "EndpointSlice", Version: "v1"}, {Kind: "NetworkPolicy", Version: "v1"}},
	"IstioCNI": {{Kind: "DaemonSet", Version: "v1"}, {Kind: "ConfigMap", Version: "v1"}},
	"ZTunnel":  {{Kind: "DaemonSet", Version: "v1"}},
}

// internalKinds are managed by the operator; consoles hide them from "create" forms.
var internalKinds = []string{"IstioRevision"}

// displayNames overrides the display name derived from a kind.
var displayNames = map[string]string{"IstioCNI": "Istio CNI", "ZTunnel": "ZTunnel"}

// describeCRDs makes the owned CRD descriptions (descriptors from the CRD schemas) and the examples: the samples
// in config/samples, and for a kind without a sample, an example with only the required fields.
func describeCRDs(root string, crds []*apiextensionsv1.CustomResourceDefinition) ([]operatorsv1alpha1.CRDDescription, []map[string]any, []string, error) {
	samples, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
	if err != nil {
		return nil, nil, nil, err
	}
	sort.Strings(samples)
	var examples []map[string]any
	haveExample := map[string]bool{}
	for _, f := range samples {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, nil, err
		}
		objs, err := manifest.Parse(data)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, u := range objs {
			examples = append(examples, u.Object)
			haveExample[u.GetKind()] = true
		}
	}
	newest, err := newestIstioVersion(root)
	if err != nil {
		return nil, nil, nil, err
	}
	var owned []operatorsv1alpha1.CRDDescription
	var internal []string
	for _, crd := range crds {
		kind := crd.Spec.Names.Kind
		var version *apiextensionsv1.CustomResourceDefinitionVersion
		for i := range crd.Spec.Versions {
			if crd.Spec.Versions[i].Storage {
				version = &crd.Spec.Versions[i]
			}
		}
		if version == nil || version.Schema == nil || version.Schema.OpenAPIV3Schema == nil {
			return nil, nil, nil, fmt.Errorf("CRD %s has no storage version with a schema", crd.Name)
		}
		schema := version.Schema.OpenAPIV3Schema
		d := operatorsv1alpha1.CRDDescription{
			Name: crd.Name, Version: version.Name, Kind: kind, DisplayName: displayName(kind),
			Description: firstParagraph(schema.Description), Resources: kindResources[kind],
		}
		if spec, ok := schema.Properties["spec"]; ok {
			d.SpecDescriptors = specDescriptors(spec, "")
		}
		if status, ok := schema.Properties["status"]; ok {
			d.StatusDescriptors = statusDescriptors(status, "")
		}
		owned = append(owned, d)
		if slices.Contains(internalKinds, kind) {
			internal = append(internal, crd.Name)
		}
		if !haveExample[kind] {
			ex, err := minimalExample(crd, version, newest)
			if err != nil {
				return nil, nil, nil, err
			}
			examples = append(examples, ex)
		}
	}
	return owned, examples, internal, nil
}

// minimalExample is an instance named default with only the required spec fields.
func minimalExample(crd *apiextensionsv1.CustomResourceDefinition, v *apiextensionsv1.CustomResourceDefinitionVersion, newestIstio string) (map[string]any, error) {
	spec := map[string]any{}
	specSchema := v.Schema.OpenAPIV3Schema.Properties["spec"]
	for _, req := range specSchema.Required {
		switch req {
		case "version":
			spec[req] = newestIstio
		case "namespace":
			spec[req] = "istio-system"
		default:
			return nil, fmt.Errorf("%s: no sample in config/samples and no example value for the required field spec.%s", crd.Spec.Names.Kind, req)
		}
	}
	return map[string]any{
		"apiVersion": crd.Spec.Group + "/" + v.Name,
		"kind":       crd.Spec.Names.Kind,
		"metadata":   map[string]any{"name": "default"},
		"spec":       spec,
	}, nil
}

const (
	xdText      = "urn:alm:descriptor:com.tectonic.ui:text"
	xdNumber    = "urn:alm:descriptor:com.tectonic.ui:number"
	xdBoolean   = "urn:alm:descriptor:com.tectonic.ui:booleanSwitch"
	xdSelect    = "urn:alm:descriptor:com.tectonic.ui:select:"
	xdNamespace = "urn:alm:descriptor:io.kubernetes:Namespace"
	xdAdvanced  = "urn:alm:descriptor:com.tectonic.ui:advanced"
	xdFieldGrp  = "urn:alm:descriptor:com.tectonic.ui:fieldGroup:"
	xdConds     = "urn:alm:descriptor:io.kubernetes.conditions"
)

// specDescriptors describes the fields of a spec for OLM consoles: enums become selects, namespaces namespace
// pickers; Istio's Helm values (a large free-form tree) are "advanced"; nested objects become field groups.
func specDescriptors(s apiextensionsv1.JSONSchemaProps, prefix string) []operatorsv1alpha1.SpecDescriptor {
	var out []operatorsv1alpha1.SpecDescriptor
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		path := join(prefix, name)
		d := operatorsv1alpha1.SpecDescriptor{Path: path, DisplayName: humanize(name), Description: firstSentence(p.Description)}
		switch {
		case name == "values":
			d.XDescriptors = []string{xdAdvanced}
		case p.Type == "object" && len(p.Properties) > 0 && prefix == "":
			for _, child := range specDescriptors(p, path) {
				child.XDescriptors = append(child.XDescriptors, xdFieldGrp+name)
				out = append(out, child)
			}
			continue
		case p.Type == "object" || p.Type == "array":
			d.XDescriptors = []string{xdAdvanced}
		case len(p.Enum) > 0:
			for _, e := range p.Enum {
				var v string
				if json.Unmarshal(e.Raw, &v) == nil {
					d.XDescriptors = append(d.XDescriptors, xdSelect+v)
				}
			}
		case name == "namespace" && p.Type == "string":
			d.XDescriptors = []string{xdNamespace}
		case p.Type == "boolean":
			d.XDescriptors = []string{xdBoolean}
		case p.Type == "integer" || p.Type == "number":
			d.XDescriptors = []string{xdNumber}
		default:
			d.XDescriptors = []string{xdText}
		}
		out = append(out, d)
	}
	return out
}

// statusDescriptors describes the status: conditions, and the scalar fields as text (bookkeeping such as the
// inventory and observedGeneration is left out).
func statusDescriptors(s apiextensionsv1.JSONSchemaProps, prefix string) []operatorsv1alpha1.StatusDescriptor {
	var out []operatorsv1alpha1.StatusDescriptor
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		path := join(prefix, name)
		d := operatorsv1alpha1.StatusDescriptor{Path: path, DisplayName: humanize(name), Description: firstSentence(p.Description)}
		switch {
		case name == "conditions":
			d.XDescriptors = []string{xdConds}
		case name == "observedGeneration" || name == "inventory":
			continue
		case p.Type == "object":
			out = append(out, statusDescriptors(p, path)...)
			continue
		case p.Type == "array":
			continue
		default:
			d.XDescriptors = []string{xdText}
		}
		out = append(out, d)
	}
	return out
}

func relatedImages(root, operatorImage string, crds []*apiextensionsv1.CustomResourceDefinition) ([]operatorsv1alpha1.RelatedImage, error) {
	list, err := readVersions(root)
	if err != nil {
		return nil, err
	}
	images := []string{"pilot", "proxyv2"}
	for _, crd := range crds {
		switch crd.Spec.Names.Kind {
		case "IstioCNI":
			images = append(images, "install-cni")
		case "ZTunnel":
			images = append(images, "ztunnel")
		}
	}
	out := []operatorsv1alpha1.RelatedImage{{Name: "sail-operator", Image: operatorImage}}
	for _, v := range list.Versions {
		for _, img := range images {
			out = append(out, operatorsv1alpha1.RelatedImage{
				Name:  "istio-" + img + "-" + strings.ReplaceAll(strings.TrimPrefix(v.Name, "v"), ".", "-"),
				Image: v.Hub + "/" + img + ":" + v.Tag,
			})
		}
	}
	return out, nil
}

func readVersions(root string) (*versions.List, error) {
	data, err := os.ReadFile(filepath.Join(root, "resources", "versions.yaml"))
	if err != nil {
		return nil, err
	}
	return versions.Parse(data)
}

func newestIstioVersion(root string) (string, error) {
	l, err := readVersions(root)
	if err != nil {
		return "", err
	}
	return l.Newest().Name, nil
}

// fieldOrder puts the fields users set first in consoles; others follow alphabetically, Helm values last.
var fieldOrder = []string{"version", "namespace", "profile", "updateStrategy", "type", "targetRef", "state",
	"conditions", "activeRevisionName"}

func sortedKeys(m map[string]apiextensionsv1.JSONSchemaProps) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if k == "values" {
			return len(fieldOrder) + 1
		}
		if i := slices.Index(fieldOrder, k); i >= 0 {
			return i
		}
		return len(fieldOrder)
	}
	sort.Slice(keys, func(i, j int) bool {
		if ri, rj := rank(keys[i]), rank(keys[j]); ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// humanize turns a field or kind name into words: "updateStrategy" -> "Update Strategy", "IstioCNI" -> "Istio CNI".
func humanize(name string) string {
	if d, ok := displayNames[name]; ok {
		return d
	}
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1]))) {
			b.WriteByte(' ')
		}
		if i == 0 {
			c = unicode.ToUpper(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}

func displayName(kind string) string { return humanize(kind) }

// firstParagraph joins the lines of the first paragraph of a schema description.
func firstParagraph(s string) string {
	p, _, _ := strings.Cut(strings.TrimSpace(s), "\n\n")
	return oneLine(p)
}

// firstSentence is the first sentence of a description (or its first paragraph when it has no full stop).
func firstSentence(s string) string {
	p := firstParagraph(s)
	if i := strings.Index(p, ". "); i >= 0 {
		return p[:i+1]
	}
	return p
}
