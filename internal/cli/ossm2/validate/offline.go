// Package validate checks the objects the OpenShift Service Mesh 2 conversion generates: offline, against the CRD
// schemas of Sail (embedded in sailctl, or from a folder) and Istio (from the charts embedded in Sail) and the Go
// types of the Kubernetes kinds (Offline); or online, by a server-side apply dry-run with strict field validation
// (Cluster).
package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
	"github.com/sail-mesh/sail/internal/cli/ossm2/strict"
)

// builtinTypes are the Kubernetes kinds the conversion generates, checked offline by decoding them strictly into
// their Go types (field names and value types; not the API server's semantic checks).
var builtinTypes = map[schema.GroupVersionKind]reflect.Type{
	{Version: "v1", Kind: "Namespace"}:                                       reflect.TypeFor[corev1.Namespace](),
	{Version: "v1", Kind: "Service"}:                                         reflect.TypeFor[corev1.Service](),
	{Version: "v1", Kind: "ServiceAccount"}:                                  reflect.TypeFor[corev1.ServiceAccount](),
	{Group: "apps", Version: "v1", Kind: "Deployment"}:                       reflect.TypeFor[appsv1.Deployment](),
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}:        reflect.TypeFor[rbacv1.Role](),
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}: reflect.TypeFor[rbacv1.RoleBinding](),
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}:   reflect.TypeFor[autoscalingv2.HorizontalPodAutoscaler](),
}

// crdSchema validates objects of one kind and version of a CRD the way the API server does: pruning (unknown
// fields), defaulting, OpenAPI schema validation (types, enums, patterns) and CEL rules.
type crdSchema struct {
	namespaced bool
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// SchemaSet holds the schemas offline validation uses.
type SchemaSet struct {
	crds map[schema.GroupVersionKind]*crdSchema
	// sources says where the schemas came from, for the report.
	sources []string
}

// add loads every CRD of a (multi-document) YAML file.
func (s *SchemaSet) add(data []byte) error {
	reader := utilyaml.NewYAMLReader(bufioReader(data))
	for {
		doc, err := reader.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(doc, crd); err != nil {
			return err
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		if err := s.addCRD(crd); err != nil {
			return err
		}
	}
}

// addCRD loads the schema of every served version of a CRD.
func (s *SchemaSet) addCRD(crd *apiextensionsv1.CustomResourceDefinition) error {
	for _, v := range crd.Spec.Versions {
		if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		c, err := compile(crd.Name, v)
		if err != nil {
			return err
		}
		c.namespaced = crd.Spec.Scope == apiextensionsv1.NamespaceScoped
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
		s.crds[gvk] = c
	}
	return nil
}

// compile builds the validators of one version of the CRD named crdName.
func compile(crdName string, v apiextensionsv1.CustomResourceDefinitionVersion) (*crdSchema, error) {
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(
		v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
		return nil, err
	}
	st, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, fmt.Errorf("schema of %s %s is not structural: %w", crdName, v.Name, err)
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(internal)
	if err != nil {
		return nil, err
	}
	return &crdSchema{structural: st, validator: validator,
		cel: cel.NewValidator(st, true, celconfig.PerCallLimit)}, nil
}

// Offline validates each object against its CRD schema (Sail and Istio kinds) or its Go type (Kubernetes kinds);
// objects of other kinds are skipped.
func Offline(objects []resource.Object, set *SchemaSet) *report.ValidationReport {
	rep := &report.ValidationReport{Mode: "offline", Against: strings.Join(set.sources, " and ")}
	for _, o := range objects {
		rep.Results = append(rep.Results, offlineResult(o, set))
	}
	return rep
}

func offlineResult(o resource.Object, set *SchemaSet) report.ValidationResult {
	res := report.ValidationResult{Object: o.Ref()}
	gvk := o.GroupVersionKind()
	switch {
	case set.crds[gvk] != nil:
		res.Messages = set.crds[gvk].validate(o.Object)
	case builtinTypes[gvk] != nil:
		res.Messages = validateBuiltin(o.Object, builtinTypes[gvk])
	default:
		res.Status = report.ValidationSkipped
		res.Messages = []string{skipReason(gvk)}
		return res
	}
	res.Messages = append(validateName(o), res.Messages...)
	res.Status = report.ValidationValid
	if len(res.Messages) > 0 {
		res.Status = report.ValidationRejected
	}
	return res
}

func skipReason(gvk schema.GroupVersionKind) string {
	switch {
	case gvk.Group == "sailoperator.io" && gvk.Kind == "IstioCNI":
		return "no IstioCNI CRD is embedded in this build of sailctl: not validated"
	case gvk.Group == "route.openshift.io":
		return "OpenShift Route schemas are not embedded: not validated (use --validate against an OpenShift " +
			"cluster)"
	default:
		return fmt.Sprintf("no schema for %s: not validated", gvk)
	}
}

func validateName(o resource.Object) []string {
	var msgs []string
	for _, m := range validation.IsDNS1123Subdomain(o.GetName()) {
		msgs = append(msgs, "metadata.name: "+m)
	}
	return msgs
}

// Admit checks obj against the CRD schema of its kind and returns it with the schema's defaults applied, as the
// API server would store it on create (unknown fields pruned), with the problems found, sorted, each prefixed
// with the field's path. known is false when no schema of obj's kind and version is loaded.
func (s *SchemaSet) Admit(obj map[string]any) (admitted map[string]any, problems []string, known bool) {
	u := &unstructuredObj{obj}
	c := s.crds[u.gvk()]
	if c == nil {
		return nil, nil, false
	}
	admitted, problems = c.admit(obj)
	return admitted, problems, true
}

type unstructuredObj struct{ m map[string]any }

func (u *unstructuredObj) gvk() schema.GroupVersionKind {
	apiVersion, _ := u.m["apiVersion"].(string)
	kind, _ := u.m["kind"].(string)
	return schema.FromAPIVersionAndKind(apiVersion, kind)
}

func (c *crdSchema) validate(obj map[string]any) []string {
	_, msgs := c.admit(obj)
	return msgs
}

func (c *crdSchema) admit(obj map[string]any) (map[string]any, []string) {
	u := runtime.DeepCopyJSON(obj)
	var msgs []string
	unknown := pruning.PruneWithOptions(u, c.structural, true, structuralschema.UnknownFieldPathOptions{
		TrackUnknownFieldPaths: true})
	for _, p := range unknown {
		msgs = append(msgs, fmt.Sprintf("%s: unknown field", p))
	}
	structuraldefaulting.Default(u, c.structural)
	for _, e := range apiservervalidation.ValidateCustomResource(nil, u, c.validator) {
		msgs = append(msgs, e.Error())
	}
	if c.cel != nil {
		errs, _ := c.cel.Validate(context.Background(), nil, c.structural, u, nil, celconfig.RuntimeCELCostBudget)
		for _, e := range errs {
			msgs = append(msgs, e.Error())
		}
	}
	sort.Strings(msgs)
	return u, msgs
}

func validateBuiltin(obj map[string]any, t reflect.Type) []string {
	data, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	tree, err := strict.Tree(data)
	if err != nil {
		return []string{err.Error()}
	}
	var msgs []string
	for _, p := range strict.Check(tree, t, nil) {
		msg := p.Message
		if p.Unknown {
			msg = "unknown field"
		}
		msgs = append(msgs, fmt.Sprintf("%s: %s", p.Path, msg))
	}
	return msgs
}

// OfflineWhereSkipped validates offline, where a schema is available, the objects that a cluster validation
// skipped (the cluster does not serve their kind yet): their result becomes the offline one, after the reason
// they were skipped.
func OfflineWhereSkipped(rep *report.ValidationReport, objects []resource.Object, set *SchemaSet) {
	for i, r := range rep.Results {
		if r.Status != report.ValidationSkipped {
			continue
		}
		j := slices.IndexFunc(objects, func(o resource.Object) bool { return o.Ref() == r.Object })
		if j < 0 {
			continue
		}
		off := offlineResult(objects[j], set)
		if off.Status == report.ValidationSkipped {
			continue
		}
		rep.Results[i].Status = off.Status
		rep.Results[i].Messages = append(r.Messages, "validated offline instead")
		rep.Results[i].Messages = append(rep.Results[i].Messages, off.Messages...)
	}
}
