package packaging

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/operator-framework/api/pkg/manifests"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/api/pkg/validation"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"
)

// generateBundle writes a fresh bundle into a temporary folder and returns the folder (holding bundle/ and
// bundle.Dockerfile) and the files.
func generateBundle(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	files, err := GenerateBundle(BundleOptions{Root: repoRoot()})
	if err != nil {
		t.Fatalf("generating the bundle: %v", err)
	}
	dir := t.TempDir()
	if err := WriteBundle(dir, files); err != nil {
		t.Fatal(err)
	}
	return dir, files
}

// expectedWarning tells the validator warnings that are known and accepted. There is one: the good-practices
// validator warns about any permission to create CRDs ("meta operators"). Sail needs it: it installs and upgrades
// Istio's own CRDs (*.istio.io, its operand's API) from the newest Istio version in use, so OLM cannot ship them
// in the bundle (they change with the Istio versions users pick, not with Sail's). Users who manage Istio's CRDs
// themselves turn it off with --manage-istio-crds=false; the permission stays in the generated RBAC.
func expectedWarning(w string) bool {
	return strings.Contains(w, "CSV contains permissions to create CRD")
}

// bundleValidators are the operator-framework validators the bundle must pass: the defaults, OperatorHub's
// metadata rules, capabilities and categories, bundled objects, good practices and removed APIs (not the
// multi-architecture one, which pulls images).
var bundleValidators = validation.DefaultBundleValidators.WithValidators(
	validation.OperatorHubV2Validator,
	validation.StandardCapabilitiesValidator,
	validation.StandardCategoriesValidator,
	validation.ObjectValidator,
	validation.GoodPracticesValidator,
	validation.AlphaDeprecatedAPIsValidator,
)

func TestBundle_ValidationCatchesABrokenCSV(t *testing.T) {
	g := NewWithT(t)
	dir, files := generateBundle(t)
	name := BundleManifestsDir + "/" + PackageName + ".clusterserviceversion.yaml"
	broken := bytes.Replace(files[name], []byte("email: maintainers@"), []byte("email: not-an-address-"), 1)
	broken = bytes.Replace(broken, []byte("- supported: true\n      type: AllNamespaces"), []byte("- supported: false\n      type: AllNamespaces"), 1)
	g.Expect(broken).NotTo(Equal(files[name]))
	g.Expect(os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), broken, 0o644)).To(Succeed())
	bundle, err := manifests.GetBundleFromDir(filepath.Join(dir, "bundle"))
	g.Expect(err).NotTo(HaveOccurred())
	var errs []string
	for _, result := range bundleValidators.Validate(append(bundle.ObjectsToValidate(), map[string]string{"k8s-version": "1.30"})...) {
		for _, e := range result.Errors {
			errs = append(errs, e.Error())
		}
	}
	g.Expect(errs).To(ContainElement(ContainSubstring("Maintainers email")))
	g.Expect(errs).To(ContainElement(ContainSubstring("none of InstallModeTypes are supported")))
}

func TestBundle_PassesOperatorFrameworkValidation(t *testing.T) {
	g := NewWithT(t)
	dir, _ := generateBundle(t)
	bundle, err := manifests.GetBundleFromDir(filepath.Join(dir, "bundle"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(bundle.CSV).NotTo(BeNil())
	g.Expect(bundle.V1CRDs).To(HaveLen(crdCount(t)))
	g.Expect(bundle.Channels).To(Equal([]string{DefaultChannel}))

	objs := append(bundle.ObjectsToValidate(), map[string]string{"k8s-version": "1.30"})
	var errs, warns int
	for _, result := range bundleValidators.Validate(objs...) {
		for _, e := range result.Errors {
			errs++
			t.Errorf("validation error (%s): %s", result.Name, e.Error())
		}
		for _, w := range result.Warnings {
			warns++
			if expectedWarning(w.Error()) {
				t.Logf("expected warning (%s): %s", result.Name, w.Error())
			} else {
				t.Errorf("unexpected validation warning (%s): %s", result.Name, w.Error())
			}
		}
	}
	t.Logf("%d errors, %d warnings", errs, warns)
	g.Expect(warns).To(Equal(1), "only the documented warning (expectedWarning)")
}

func TestBundle_ValidationWarnsAboutUndeclaredEventsAPI(t *testing.T) {
	// The events.k8s.io rule passes the removed-APIs check only because every owned CRD declares the version of
	// the Events its instances get. Without the declaration, the validators read the rule as a use of
	// events.k8s.io/v1beta1; this shows the check is live.
	g := NewWithT(t)
	dir, files := generateBundle(t)
	name := BundleManifestsDir + "/" + PackageName + ".clusterserviceversion.yaml"
	stripped := regexp.MustCompile(`(?m)^ +- kind: Event\n +name: ""\n +version: v1\n`).ReplaceAll(files[name], nil)
	g.Expect(stripped).NotTo(Equal(files[name]))
	g.Expect(os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), stripped, 0o644)).To(Succeed())
	bundle, err := manifests.GetBundleFromDir(filepath.Join(dir, "bundle"))
	g.Expect(err).NotTo(HaveOccurred())
	var warns []string
	for _, result := range bundleValidators.Validate(append(bundle.ObjectsToValidate(), map[string]string{"k8s-version": "1.30"})...) {
		for _, w := range result.Warnings {
			warns = append(warns, w.Error())
		}
	}
	g.Expect(warns).To(ContainElement(ContainSubstring("Migrate the API(s) for events")))
}

func TestBundle_CommittedBundleIsUpToDate(t *testing.T) {
	g := NewWithT(t)
	_, files := generateBundle(t)
	root := repoRoot()
	var committed []string
	for _, dir := range []string{BundleManifestsDir, BundleMetadataDir} {
		matches, _ := filepath.Glob(filepath.Join(root, dir, "*"))
		for _, m := range matches {
			rel, _ := filepath.Rel(root, m)
			committed = append(committed, filepath.ToSlash(rel))
		}
	}
	if _, err := os.Stat(filepath.Join(root, BundleDockerfile)); err == nil {
		committed = append(committed, BundleDockerfile)
	}
	var generated []string
	for name := range files {
		generated = append(generated, name)
	}
	g.Expect(committed).To(ConsistOf(generated), "bundle/ holds other files than hack/bundle generates: run `make bundle`")
	for name, data := range files {
		onDisk, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(bytes.Equal(onDisk, data)).To(BeTrue(), "%s is out of date: run `make bundle`", name)
	}
}

func loadCSV(t *testing.T, files map[string][]byte) *operatorsv1alpha1.ClusterServiceVersion {
	t.Helper()
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := yaml.UnmarshalStrict(files[BundleManifestsDir+"/"+PackageName+".clusterserviceversion.yaml"], csv); err != nil {
		t.Fatal(err)
	}
	return csv
}

func TestBundle_CSVDescribesWhatTheChartInstalls(t *testing.T) {
	g := NewWithT(t)
	_, files := generateBundle(t)
	csv := loadCSV(t, files)
	version := chartAppVersion(t)
	image := "ghcr.io/sail-mesh/sail-operator:" + version

	g.Expect(csv.Name).To(Equal("sail-operator.v" + version))
	g.Expect(csv.Spec.Version.String()).To(Equal(version))
	g.Expect(csv.Spec.MinKubeVersion).To(Equal("1.30.0"))
	g.Expect(csv.Spec.InstallModes).To(ConsistOf(
		operatorsv1alpha1.InstallMode{Type: operatorsv1alpha1.InstallModeTypeOwnNamespace, Supported: false},
		operatorsv1alpha1.InstallMode{Type: operatorsv1alpha1.InstallModeTypeSingleNamespace, Supported: false},
		operatorsv1alpha1.InstallMode{Type: operatorsv1alpha1.InstallModeTypeMultiNamespace, Supported: false},
		operatorsv1alpha1.InstallMode{Type: operatorsv1alpha1.InstallModeTypeAllNamespaces, Supported: true}))
	g.Expect(csv.Annotations).To(HaveKeyWithValue("containerImage", image))
	g.Expect(csv.Spec.Maintainers).NotTo(BeEmpty())
	g.Expect(csv.Spec.Links).NotTo(BeEmpty())
	g.Expect(csv.Spec.Description).To(ContainSubstring("kind: Istio"))

	g.Expect(csv.Spec.Icon).To(HaveLen(1))
	svg, err := base64.StdEncoding.DecodeString(csv.Spec.Icon[0].Data)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(svg)).To(HavePrefix("<svg"))
	g.Expect(csv.Spec.Icon[0].MediaType).To(Equal("image/svg+xml"))

	// The Deployment is the chart's, with the bundle's image.
	chartDep := deployment(t, render(t, map[string]any{"crds": map[string]any{"install": false}}))
	specs := csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs
	g.Expect(specs).To(HaveLen(1))
	g.Expect(specs[0].Name).To(Equal("sail-operator"))
	g.Expect(specs[0].Spec.Template.Spec.Containers[0].Image).To(Equal(image))
	g.Expect(equality.Semantic.DeepEqual(specs[0].Spec, chartDep.Spec)).To(BeTrue(),
		"the CSV's Deployment differs from the chart's")
	g.Expect(specs[0].Spec.Template.Spec.Containers[0].Args).To(ContainElement("--leader-elect"))

	// Permissions are the generated RBAC, for the Deployment's ServiceAccount.
	clusterRules, roleRules, err := GeneratedRules(repoRoot())
	g.Expect(err).NotTo(HaveOccurred())
	sa := specs[0].Spec.Template.Spec.ServiceAccountName
	g.Expect(csv.Spec.InstallStrategy.StrategySpec.ClusterPermissions).To(Equal(
		[]operatorsv1alpha1.StrategyDeploymentPermissions{{ServiceAccountName: sa, Rules: clusterRules}}))
	g.Expect(csv.Spec.InstallStrategy.StrategySpec.Permissions).To(Equal(
		[]operatorsv1alpha1.StrategyDeploymentPermissions{{ServiceAccountName: sa, Rules: roleRules}}))

	// Every CRD is owned, copied byte for byte, and its descriptors point at fields of its schema.
	crdFiles, _ := filepath.Glob(filepath.Join(repoRoot(), "config", "crd", "bases", "*.yaml"))
	g.Expect(csv.Spec.CustomResourceDefinitions.Owned).To(HaveLen(len(crdFiles)))
	for _, f := range crdFiles {
		data, err := os.ReadFile(f)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(files[BundleManifestsDir+"/"+filepath.Base(f)]).To(Equal(data), "bundle copy of %s", f)
		crd := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(yaml.Unmarshal(data, crd)).To(Succeed())
		idx := slices.IndexFunc(csv.Spec.CustomResourceDefinitions.Owned, func(d operatorsv1alpha1.CRDDescription) bool { return d.Name == crd.Name })
		g.Expect(idx).To(BeNumerically(">=", 0), "%s is owned", crd.Name)
		owned := csv.Spec.CustomResourceDefinitions.Owned[idx]
		g.Expect(owned.Kind).To(Equal(crd.Spec.Names.Kind))
		g.Expect(owned.Description).NotTo(BeEmpty())
		schema := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		for _, d := range owned.SpecDescriptors {
			g.Expect(schemaHasPath(schema.Properties["spec"], d.Path)).To(BeTrue(), "%s spec descriptor %s", crd.Name, d.Path)
		}
		for _, d := range owned.StatusDescriptors {
			g.Expect(schemaHasPath(schema.Properties["status"], d.Path)).To(BeTrue(), "%s status descriptor %s", crd.Name, d.Path)
		}
		g.Expect(owned.StatusDescriptors).To(ContainElement(HaveField("Path", "conditions")))
	}
	g.Expect(csv.Annotations["operators.operatorframework.io/internal-objects"]).To(Equal(`["istiorevisions.sailoperator.io"]`))

	// Examples: the samples, and one per kind.
	var examples []map[string]any
	g.Expect(json.Unmarshal([]byte(csv.Annotations["alm-examples"]), &examples)).To(Succeed())
	var kinds []string
	for _, ex := range examples {
		kinds = append(kinds, ex["kind"].(string))
	}
	for _, o := range csv.Spec.CustomResourceDefinitions.Owned {
		g.Expect(kinds).To(ContainElement(o.Kind))
	}
	g.Expect(examples[0]).To(HaveKeyWithValue("kind", "Istio"), "config/samples/istio.yaml comes first")

	// Related images: the operator and the images of every supported Istio version.
	list, err := readVersions(repoRoot())
	g.Expect(err).NotTo(HaveOccurred())
	var images []string
	for _, r := range csv.Spec.RelatedImages {
		images = append(images, r.Image)
	}
	g.Expect(images).To(ContainElement(image))
	for _, v := range list.Versions {
		g.Expect(images).To(ContainElement(v.Hub + "/pilot:" + v.Tag))
		g.Expect(images).To(ContainElement(v.Hub + "/proxyv2:" + v.Tag))
	}
}

func TestBundle_MetadataAndDockerfileAgree(t *testing.T) {
	g := NewWithT(t)
	_, files := generateBundle(t)
	var meta struct {
		Annotations map[string]string `json:"annotations"`
	}
	g.Expect(yaml.UnmarshalStrict(files[BundleMetadataDir+"/annotations.yaml"], &meta)).To(Succeed())
	g.Expect(meta.Annotations).To(HaveKeyWithValue("operators.operatorframework.io.bundle.mediatype.v1", "registry+v1"))
	g.Expect(meta.Annotations).To(HaveKeyWithValue("operators.operatorframework.io.bundle.package.v1", PackageName))
	dockerfile := string(files[BundleDockerfile])
	for k, v := range meta.Annotations {
		g.Expect(dockerfile).To(ContainSubstring("LABEL "+k+"="+v+"\n"), "bundle.Dockerfile labels the image like annotations.yaml")
	}
	g.Expect(dockerfile).To(ContainSubstring("FROM scratch"))
	g.Expect(dockerfile).To(ContainSubstring("COPY bundle/manifests /manifests/"))
	g.Expect(dockerfile).To(ContainSubstring("COPY bundle/metadata /metadata/"))
}

func TestBundle_VersionAndImageCanBeSet(t *testing.T) {
	g := NewWithT(t)
	files, err := GenerateBundle(BundleOptions{Root: repoRoot(), Version: "v1.2.3", Image: "quay.io/me/sail@sha256:" + strings.Repeat("0", 64),
		Channels: []string{"candidate", "stable"}, DefaultChannel: "stable"})
	g.Expect(err).NotTo(HaveOccurred())
	csv := loadCSV(t, files)
	g.Expect(csv.Name).To(Equal("sail-operator.v1.2.3"))
	g.Expect(csv.Annotations).To(HaveKeyWithValue("olm.skipRange", "<1.2.3"))
	g.Expect(csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs[0].Spec.Template.Spec.Containers[0].Image).
		To(Equal("quay.io/me/sail@sha256:" + strings.Repeat("0", 64)))
	g.Expect(string(files[BundleMetadataDir+"/annotations.yaml"])).To(ContainSubstring("channels.v1: candidate,stable\n"))

	_, err = GenerateBundle(BundleOptions{Root: repoRoot(), Version: "one"})
	g.Expect(err).To(HaveOccurred())
}

// schemaHasPath reports whether a dotted path names a property of the schema.
func schemaHasPath(s apiextensionsv1.JSONSchemaProps, path string) bool {
	for _, part := range strings.Split(path, ".") {
		p, ok := s.Properties[part]
		if !ok {
			return false
		}
		s = p
	}
	return true
}
