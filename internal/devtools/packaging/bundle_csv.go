package packaging

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

var (
	//go:embed icon.svg
	iconSVG []byte
	//go:embed csv-description.md
	csvDescription string
)

// clusterServiceVersion makes the bundle's ClusterServiceVersion: the operator's Deployment and permissions,
// the owned CRDs with their descriptors and examples, and the images it installs.
func (b *bundle) clusterServiceVersion() ([]byte, error) {
	crds := b.crdList()
	owned, examples, internal, err := describeCRDs(b.opts.Root, crds)
	if err != nil {
		return nil, err
	}
	related, err := relatedImages(b.opts.Root, b.opts.Image, crds)
	if err != nil {
		return nil, err
	}
	annotations, err := b.csvAnnotations(examples, internal)
	if err != nil {
		return nil, err
	}
	spec, err := b.csvSpec(owned, related)
	if err != nil {
		return nil, err
	}
	csv := &operatorsv1alpha1.ClusterServiceVersion{
		TypeMeta: metav1.TypeMeta{APIVersion: operatorsv1alpha1.SchemeGroupVersion.String(),
			Kind: operatorsv1alpha1.ClusterServiceVersionKind},
		ObjectMeta: metav1.ObjectMeta{Name: PackageName + ".v" + b.version.String(), Annotations: annotations},
		Spec:       spec,
	}
	csv.Spec.Version.Version = b.version
	m, err := cleanMap(csv)
	if err != nil {
		return nil, err
	}
	delete(m["spec"].(map[string]any), "cleanup")
	delete(m["spec"].(map[string]any), "apiservicedefinitions")
	return marshalYAML(m)
}

// csvAnnotations are the CSV's annotations: the examples and internal objects OLM consoles show or hide, and
// what OperatorHub lists.
func (b *bundle) csvAnnotations(examples []map[string]any, internal []string) (map[string]string, error) {
	exampleJSON, err := json.Marshal(examples)
	if err != nil {
		return nil, err
	}
	internalJSON, err := json.Marshal(internal)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"alm-examples":   string(exampleJSON),
		"capabilities":   "Seamless Upgrades",
		"categories":     "Networking,Security",
		"containerImage": b.opts.Image,
		"description":    oneLine(b.meta.Description),
		"repository":     b.meta.Home,
		"support":        "Sail maintainers",
		"operators.operatorframework.io/internal-objects": string(internalJSON),
		"operatorframework.io/suggested-namespace":        PackageName,
		// Any earlier version may upgrade straight to this one.
		"olm.skipRange": "<" + b.version.String(),
	}, nil
}

// csvSpec is the CSV's spec but for its version.
func (b *bundle) csvSpec(owned []operatorsv1alpha1.CRDDescription, related []operatorsv1alpha1.RelatedImage) (operatorsv1alpha1.ClusterServiceVersionSpec, error) {
	minKube, err := minKubeVersion(b.meta.KubeVersion)
	if err != nil {
		return operatorsv1alpha1.ClusterServiceVersionSpec{}, err
	}
	strategy, err := b.installStrategy()
	if err != nil {
		return operatorsv1alpha1.ClusterServiceVersionSpec{}, err
	}
	var maintainers []operatorsv1alpha1.Maintainer
	for _, m := range b.meta.Maintainers {
		maintainers = append(maintainers, operatorsv1alpha1.Maintainer{Name: m.Name, Email: m.Email})
	}
	home := b.meta.Home
	return operatorsv1alpha1.ClusterServiceVersionSpec{
		DisplayName:    "Sail",
		Description:    csvDescription,
		Keywords:       b.meta.Keywords,
		Maturity:       "alpha",
		MinKubeVersion: minKube,
		Provider:       operatorsv1alpha1.AppLink{Name: "Sail", URL: home},
		Maintainers:    maintainers,
		Links: []operatorsv1alpha1.AppLink{
			{Name: "Source code", URL: home},
			{Name: "Installation", URL: home + "/blob/main/docs/install.md"},
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
		InstallStrategy:           strategy,
	}, nil
}

// installStrategy installs the chart's Deployment with the permissions of the generated RBAC, for the chart's
// ServiceAccount.
func (b *bundle) installStrategy() (operatorsv1alpha1.NamedInstallStrategy, error) {
	clusterRules, roleRules, err := GeneratedRules(b.opts.Root)
	if err != nil {
		return operatorsv1alpha1.NamedInstallStrategy{}, err
	}
	labels := map[string]string{}
	for k, v := range b.dep.Labels {
		if keepLabel(k) {
			labels[k] = v
		}
	}
	sa := b.dep.Spec.Template.Spec.ServiceAccountName
	return operatorsv1alpha1.NamedInstallStrategy{
		StrategyName: operatorsv1alpha1.InstallStrategyNameDeployment,
		StrategySpec: operatorsv1alpha1.StrategyDetailsDeployment{
			DeploymentSpecs: []operatorsv1alpha1.StrategyDeploymentSpec{
				{Name: b.dep.Name, Spec: b.dep.Spec, Label: labels},
			},
			ClusterPermissions: []operatorsv1alpha1.StrategyDeploymentPermissions{
				{ServiceAccountName: sa, Rules: clusterRules},
			},
			Permissions: []operatorsv1alpha1.StrategyDeploymentPermissions{
				{ServiceAccountName: sa, Rules: roleRules},
			},
		},
	}, nil
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

// relatedImages lists the operator's image and, for every supported Istio version, the images its charts
// install (pilot and proxyv2, and install-cni and ztunnel when the bundle has those kinds).
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
