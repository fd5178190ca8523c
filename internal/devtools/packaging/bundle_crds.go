package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/pipeline/manifest"
)

// crdFile is one of Sail's generated CRDs: its file name in config/crd/bases, its bytes and the parsed CRD.
type crdFile struct {
	file string
	data []byte
	crd  *apiextensionsv1.CustomResourceDefinition
}

// readCRDs reads config/crd/bases, sorted by kind.
func readCRDs(root string) ([]crdFile, error) {
	paths, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		return nil, err
	}
	var crds []crdFile
	for _, f := range paths {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		crds = append(crds, crdFile{file: filepath.Base(f), data: data, crd: crd})
	}
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CRDs in config/crd/bases")
	}
	sort.Slice(crds, func(i, j int) bool { return crds[i].crd.Spec.Names.Kind < crds[j].crd.Spec.Names.Kind })
	return crds, nil
}

// crdList returns the bundle's parsed CRDs, sorted by kind.
func (b *bundle) crdList() []*apiextensionsv1.CustomResourceDefinition {
	out := make([]*apiextensionsv1.CustomResourceDefinition, len(b.crds))
	for i, c := range b.crds {
		out[i] = c.crd
	}
	return out
}

// kindResources are the kinds an instance of each of Sail's kinds creates, shown by OLM consoles. Every instance
// gets Events (events.k8s.io/v1, the operator's recorder) besides; see kindResourcesWithEvents.
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

// kindResourcesWithEvents are the resources of kind, and Events: the operator records Events on every one of
// its objects (k8s.io/client-go/tools/events, i.e. events.k8s.io/v1). Declaring their version here is also what
// tells the operator-framework validators that the RBAC rule for events.k8s.io events is not a use of
// events.k8s.io/v1beta1, removed in Kubernetes 1.25: an RBAC rule has no API version, so without it they warn.
func kindResourcesWithEvents(kind string) []operatorsv1alpha1.APIResourceReference {
	return append(slices.Clone(kindResources[kind]), operatorsv1alpha1.APIResourceReference{Kind: "Event", Version: "v1"})
}

// internalKinds are managed by the operator; consoles hide them from "create" forms.
var internalKinds = []string{"IstioRevision"}

// describeCRDs makes the owned CRD descriptions (descriptors from the CRD schemas), the examples (the samples in
// config/samples, and for a kind without a sample, an example with only the required fields) and the names of
// the internal CRDs.
func describeCRDs(root string, crds []*apiextensionsv1.CustomResourceDefinition) ([]operatorsv1alpha1.CRDDescription, []map[string]any, []string, error) {
	examples, haveExample, err := readSamples(root)
	if err != nil {
		return nil, nil, nil, err
	}
	newest, err := newestIstioVersion(root)
	if err != nil {
		return nil, nil, nil, err
	}
	var owned []operatorsv1alpha1.CRDDescription
	var internal []string
	for _, crd := range crds {
		version, err := storageVersion(crd)
		if err != nil {
			return nil, nil, nil, err
		}
		owned = append(owned, describeCRD(crd, version))
		if slices.Contains(internalKinds, crd.Spec.Names.Kind) {
			internal = append(internal, crd.Name)
		}
		if !haveExample[crd.Spec.Names.Kind] {
			ex, err := minimalExample(crd, version, newest)
			if err != nil {
				return nil, nil, nil, err
			}
			examples = append(examples, ex)
		}
	}
	return owned, examples, internal, nil
}

// readSamples returns the objects of config/samples (files in name order) and the kinds they are of.
func readSamples(root string) ([]map[string]any, map[string]bool, error) {
	samples, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(samples)
	var examples []map[string]any
	kinds := map[string]bool{}
	for _, f := range samples {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		objs, err := manifest.Parse(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, u := range objs {
			examples = append(examples, u.Object)
			kinds[u.GetKind()] = true
		}
	}
	return examples, kinds, nil
}

// storageVersion returns the CRD's storage version, which must have a schema.
func storageVersion(crd *apiextensionsv1.CustomResourceDefinition) (*apiextensionsv1.CustomResourceDefinitionVersion, error) {
	var version *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Storage {
			version = &crd.Spec.Versions[i]
		}
	}
	if version == nil || version.Schema == nil || version.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("CRD %s has no storage version with a schema", crd.Name)
	}
	return version, nil
}

// describeCRD describes an owned CRD with descriptors of its version's spec and status.
func describeCRD(crd *apiextensionsv1.CustomResourceDefinition, version *apiextensionsv1.CustomResourceDefinitionVersion) operatorsv1alpha1.CRDDescription {
	kind := crd.Spec.Names.Kind
	schema := version.Schema.OpenAPIV3Schema
	d := operatorsv1alpha1.CRDDescription{
		Name: crd.Name, Version: version.Name, Kind: kind, DisplayName: displayName(kind),
		Description: firstParagraph(schema.Description), Resources: kindResourcesWithEvents(kind),
	}
	if spec, ok := schema.Properties["spec"]; ok {
		d.SpecDescriptors = specDescriptors(spec, "")
	}
	if status, ok := schema.Properties["status"]; ok {
		d.StatusDescriptors = statusDescriptors(status, "")
	}
	return d
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

func newestIstioVersion(root string) (string, error) {
	l, err := readVersions(root)
	if err != nil {
		return "", err
	}
	return l.Newest().Name, nil
}
