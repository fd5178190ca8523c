package convert

import (
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
	"github.com/sail-mesh/sail/internal/cli/ossm2/strict"
)

// istioSpec collects the Istio of a control plane: its Helm values, and the extension providers and discovery
// selectors of its mesh config. Setting a value records the input field it comes from.
type istioSpec struct {
	ref    resource.Ref
	src    *source
	values *valuesTree
	// providers and discovery collect meshConfig.extensionProviders and meshConfig.discoverySelectors.
	providers []sailv1.MeshConfigExtensionProvider
	discovery []metav1.LabelSelector
}

func newIstioSpec(name string, src *source) *istioSpec {
	return &istioSpec{ref: resource.Ref{APIVersion: sailv1.GroupVersion.String(), Kind: sailv1.IstioKind, Name: name},
		src: src, values: newValuesTree()}
}

// record records that the input field at from went to the field path of the Istio.
func (b *istioSpec) record(from report.Location, path, note string) {
	b.src.rep.Carry(from, report.Target{Ref: b.ref, Path: path}, note)
}

// carry sets the value at to (under spec.values) and records the input field from that it comes from.
func (b *istioSpec) carry(from, to fieldpath.Path, v any) {
	b.values.set(to, v)
	b.record(b.src.at(from), fieldpath.Path{"spec", "values"}.Join(to).String(), "")
}

// carryString carries over the string v like carry, unless it is empty.
func (b *istioSpec) carryString(from, to fieldpath.Path, v string) {
	if v != "" {
		b.carry(from, to, v)
	}
}

// carryJoined carries over a list as one comma-separated string, unless the list is empty.
func (b *istioSpec) carryJoined(from, to fieldpath.Path, list []string) {
	if len(list) > 0 {
		b.carry(from, to, strings.Join(list, ","))
	}
}

// carryDefault sets a value that OpenShift Service Mesh 2 applied implicitly; from is the field it stands for
// (nil for built-in behaviour without a field).
func (b *istioSpec) carryDefault(from, to fieldpath.Path, v any, note string) {
	b.values.set(to, v)
	loc := b.src.smcp.Doc.Loc
	if from != nil {
		loc = b.src.unset(from)
	}
	b.record(loc, fieldpath.Path{"spec", "values"}.Join(to).String(), note)
}

// addProvider appends an extension provider, dropping it when the name is taken; from is the input field it
// comes from (nil for a generated one, whose caller records it).
func (b *istioSpec) addProvider(from fieldpath.Path, prov sailv1.MeshConfigExtensionProvider) {
	for _, p := range b.providers {
		if p.Name == prov.Name {
			b.src.warn(from.Child("name"), "extension provider %q is defined twice; the second one is dropped",
				prov.Name)
			return
		}
	}
	b.providers = append(b.providers, prov)
	if from != nil {
		b.record(b.src.at(from), b.lastProviderPath(), "")
	}
}

// lastProviderPath is the path of the extension provider added last.
func (b *istioSpec) lastProviderPath() string {
	return fmt.Sprintf("spec.values.meshConfig.extensionProviders[%d]", len(b.providers)-1)
}

// build returns the Istio of control plane p; false when it cannot be built (reported as an error).
func (b *istioSpec) build(p *plane) (resource.Object, bool) {
	if len(b.providers) > 0 {
		b.values.set(vpath("meshConfig.extensionProviders"), b.providers)
	}
	if len(b.discovery) > 0 {
		b.values.set(vpath("meshConfig.discoverySelectors"), b.discovery)
	}
	if p.cni && p.opts.Platform == PlatformKubernetes {
		b.values.set(vpath("pilot.cni.enabled"), true)
	}
	// The values are checked against Istio's typed values, but written as collected, so that strings such as
	// durations stay as the user wrote them (the typed form would print 300s as 5m0s).
	vals, problems := b.values.typed()
	for _, prob := range problems {
		p.rep.Add(report.SeverityError, report.Location{Kind: b.ref.Kind, Name: b.ref.Name, Path: prob.Path.String()},
			"the generated value does not fit Istio's values schema (%s): fix the input field it comes from "+
				"(see the carried-over fields)", prob.Message)
	}
	istio := &sailv1.Istio{
		TypeMeta:   metav1.TypeMeta{APIVersion: sailv1.GroupVersion.String(), Kind: sailv1.IstioKind},
		ObjectMeta: metav1.ObjectMeta{Name: p.name},
		Spec:       sailv1.IstioSpec{Version: p.opts.Target.Name, Namespace: p.ns, Values: vals},
	}
	if p.opts.Platform == PlatformOpenShift {
		istio.Spec.Profile = "openshift"
	}
	u, err := resource.FromTyped(istio)
	if err != nil {
		p.rep.Add(report.SeverityError, p.smcp.Doc.Loc, "internal error building the Istio: %v", err)
		return resource.Object{}, false
	}
	if vals != nil && len(b.values.root) > 0 {
		u.Object["spec"].(map[string]any)["values"] = b.values.root
	}
	src := fmt.Sprintf("ServiceMeshControlPlane %s/%s", p.ns, p.smcp.Meta.Name)
	return resource.Object{Unstructured: u, Comment: "Control plane converted from " + src}, true
}

// valuesTree collects the Helm values of the Istio being generated, as nested maps.
type valuesTree struct {
	root map[string]any
}

func newValuesTree() *valuesTree { return &valuesTree{root: map[string]any{}} }

// set stores v at p, creating the maps on the way; a value that is not a map on the way is replaced.
func (t *valuesTree) set(p fieldpath.Path, v any) {
	m := t.root
	for _, k := range p[:len(p)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[p[len(p)-1]] = v
}

// typed converts the tree to Istio's typed values, reporting every field that does not fit with its path under
// spec.values.
func (t *valuesTree) typed() (*sailv1.Values, []strict.Problem) {
	data, err := json.Marshal(t.root)
	if err != nil {
		return nil, []strict.Problem{{Message: err.Error()}}
	}
	tree, err := strict.Tree(data)
	if err != nil {
		return nil, []strict.Problem{{Message: err.Error()}}
	}
	out := &sailv1.Values{}
	if problems := strict.Decode(tree, out, fieldpath.Path{"spec", "values"}); len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

// vpath splits a dotted values path; none of the keys written this way contain dots.
func vpath(s string) fieldpath.Path { return fieldpath.Parse(s) }
