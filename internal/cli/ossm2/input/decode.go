package input

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/strict"
)

// SMCP is a decoded ServiceMeshControlPlane.
type SMCP struct {
	Doc  Document
	Meta metav1.ObjectMeta
	// Spec is the effective spec: status.appliedSpec when present (profiles applied), else spec.
	Spec SMCPSpec
	// RawSpec and RawApplied are spec and status.appliedSpec as read, to tell which one a value came from.
	RawSpec    map[string]any
	RawApplied map[string]any
}

// UsesApplied tells whether the conversion reads status.appliedSpec.
func (s *SMCP) UsesApplied() bool { return s.RawApplied != nil }

// SMMR is a decoded ServiceMeshMemberRoll.
type SMMR struct {
	Doc  Document
	Meta metav1.ObjectMeta
	Spec SMMRSpec
	// Configured is status.configuredMembers; HasConfigured tells whether the status had it.
	Configured    []string
	HasConfigured bool
}

// SMM is a decoded ServiceMeshMember.
type SMM struct {
	Doc  Document
	Meta metav1.ObjectMeta
	Spec SMMSpec
}

// Namespace is a Namespace given for context (its labels, to evaluate member selectors).
type Namespace struct {
	Doc  Document
	Meta metav1.ObjectMeta
}

// Gateway is an Istio Gateway given for context (its hosts, to generate OpenShift Routes).
type Gateway struct {
	Doc  Document
	Meta metav1.ObjectMeta
	Spec IstioGatewaySpec
}

// Set holds the decoded input objects, in input order.
type Set struct {
	SMCPs      []*SMCP
	SMMRs      []*SMMR
	SMMs       []*SMM
	Namespaces []*Namespace
	Gateways   []*Gateway
}

// DecodeOptions tune decoding.
type DecodeOptions struct {
	// DefaultNamespace is given to input objects that have no metadata.namespace.
	DefaultNamespace string
	// AllowUnknownFields turns unknown input fields from errors into warnings.
	AllowUnknownFields bool
}

// decoder turns documents into a Set, reporting problems.
type decoder struct {
	opts DecodeOptions
	rep  *report.Report
	set  *Set
}

// Decode decodes every document strictly, and lists each in rep.Inputs. Problems are reported to rep: unknown
// fields are errors (warnings with AllowUnknownFields), as are wrong types, unsupported API versions and kinds
// that are not read; OpenShift Service Mesh 2 kinds without an upstream counterpart are blockers. An object with
// problems is left out of the Set.
func Decode(docs []Document, opts DecodeOptions, rep *report.Report) *Set {
	d := &decoder{opts: opts, rep: rep, set: &Set{}}
	for _, doc := range docs {
		rep.Inputs = append(rep.Inputs, doc.Loc)
		gv, err := schema.ParseGroupVersion(doc.APIVersion)
		if err != nil {
			rep.Add(report.SeverityError, doc.Loc, "apiVersion %q is not of the form group/version", doc.APIVersion)
			continue
		}
		d.decode(doc, gv)
	}
	return d.set
}

// decode decodes one document by its group and kind.
func (d *decoder) decode(doc Document, gv schema.GroupVersion) {
	switch {
	case gv.Group == maistraGroup:
		d.maistra(doc, gv)
	case gv.Group == federationGroup:
		d.federation(doc)
	case gv.Group == "" && doc.Kind == KindNamespace:
		if ns := d.namespace(doc); ns != nil {
			d.set.Namespaces = append(d.set.Namespaces, ns)
		}
	case gv.Group == "networking.istio.io" && doc.Kind == KindGateway:
		if gw := d.gateway(doc); gw != nil {
			d.set.Gateways = append(d.set.Gateways, gw)
		}
	default:
		d.rep.Add(report.SeverityError, doc.Loc, "unknown kind %s (%s): sailctl migrate reads "+
			"ServiceMeshControlPlane (maistra.io/v2), ServiceMeshMemberRoll and ServiceMeshMember "+
			"(maistra.io/v1), and Namespace and networking.istio.io Gateway objects for context; remove it "+
			"from the input", doc.Kind, doc.APIVersion)
	}
}

// maistra decodes a document of the maistra.io group.
func (d *decoder) maistra(doc Document, gv schema.GroupVersion) {
	switch doc.Kind {
	case KindSMCP:
		if d.version(doc, gv, "v2") {
			if s := d.smcp(doc); s != nil {
				d.set.SMCPs = append(d.set.SMCPs, s)
			}
		}
	case KindSMMR:
		if d.version(doc, gv, "v1") {
			if s := d.smmr(doc); s != nil {
				d.set.SMMRs = append(d.set.SMMRs, s)
			}
		}
	case KindSMM:
		if d.version(doc, gv, "v1") {
			if s := d.smm(doc); s != nil {
				d.set.SMMs = append(d.set.SMMs, s)
			}
		}
	case "ServiceMeshExtension":
		d.rep.Add(report.SeverityBlocker, doc.Loc, "ServiceMeshExtension has no upstream counterpart: rewrite it as "+
			"an extensions.istio.io/v1alpha1 WasmPlugin (the module must be an OCI image or URL reachable by "+
			"the proxies), apply it, and delete the ServiceMeshExtension")
	case "ServiceMeshPeer", "ExportedServiceSet", "ImportedServiceSet":
		d.federation(doc)
	default:
		d.rep.Add(report.SeverityError, doc.Loc, "unknown OpenShift Service Mesh kind %s: sailctl migrate reads "+
			"ServiceMeshControlPlane, ServiceMeshMemberRoll and ServiceMeshMember; remove it from the input",
			doc.Kind)
	}
}

// federation reports a federation resource, which blocks the migration.
func (d *decoder) federation(doc Document) {
	d.rep.Add(report.SeverityBlocker, doc.Loc, "%s (OpenShift Service Mesh federation) has no upstream "+
		"counterpart: replace federation with Istio multi-cluster (multi-primary or primary-remote with "+
		"east-west gateways) or expose services through gateways, then delete the federation resources",
		doc.Kind)
}

// version checks that the document has API version want.
func (d *decoder) version(doc Document, gv schema.GroupVersion, want string) bool {
	switch {
	case gv.Version == want:
		return true
	case doc.Kind == KindSMCP:
		d.rep.Add(report.SeverityError, doc.Loc, "%s %s is not supported: read the control plane through the "+
			"maistra.io/v2 API (oc get servicemeshcontrolplanes.v2.maistra.io -n <namespace> -o yaml) "+
			"and convert that", doc.APIVersion, doc.Kind)
	default:
		d.rep.Add(report.SeverityError, doc.Loc, "%s %s is not supported: use %s/%s", doc.APIVersion, doc.Kind,
			gv.Group, want)
	}
	return false
}

// problems reports field problems: unknown fields are errors, or warnings with AllowUnknownFields; wrong types
// are errors. It returns true when decoding can go on.
func (d *decoder) problems(doc Document, kind string, problems []strict.Problem) bool {
	ok := true
	for _, p := range problems {
		switch {
		case p.Unknown && d.opts.AllowUnknownFields:
			d.rep.Add(report.SeverityWarning, doc.At(p.Path), "unknown field, ignored (not carried over)")
		case p.Unknown:
			ok = false
			d.rep.Add(report.SeverityError, doc.At(p.Path), "unknown field: check its spelling against the %s API "+
				"of OpenShift Service Mesh 2, remove it, or pass --allow-unknown-fields to convert without it", kind)
		default:
			ok = false
			d.rep.Add(report.SeverityError, doc.At(p.Path), "%s; fix the value", p.Message)
		}
	}
	return ok
}

// decodePart decodes the part of the object at key strictly into into, reporting problems under path key.
// Unknown fields are dropped first when they are allowed.
func (d *decoder) decodePart(doc Document, kind string, key fieldpath.Path, into any) bool {
	tree, _ := fieldpath.Lookup(doc.Object, key)
	if tree == nil {
		return true
	}
	problems := strict.Check(tree, reflect.TypeOf(into).Elem(), key)
	if !d.problems(doc, kind, problems) {
		return false
	}
	strict.DropUnknown(tree, key, problems)
	if rest := strict.Decode(tree, into, key); len(rest) > 0 {
		return d.problems(doc, kind, rest)
	}
	return true
}

// topLevel checks that the object has no top-level field other than allowed.
func (d *decoder) topLevel(doc Document, kind string, allowed ...string) bool {
	ok := true
	for _, k := range slices.Sorted(maps.Keys(doc.Object)) {
		if !slices.Contains(allowed, k) {
			ok = d.problems(doc, kind, []strict.Problem{{Path: fieldpath.Path{k}, Unknown: true}}) && ok
		}
	}
	return ok
}

// metadata decodes the object's metadata; a namespaced object without a namespace gets the default one.
func (d *decoder) metadata(doc Document, kind string, meta *metav1.ObjectMeta, namespaced bool) bool {
	if _, ok := doc.Object["metadata"]; !ok {
		d.rep.Add(report.SeverityError, doc.At(fieldpath.Path{"metadata"}), "the %s has no metadata: set "+
			"metadata.name", kind)
		return false
	}
	if !d.decodePart(doc, kind, fieldpath.Path{"metadata"}, meta) {
		return false
	}
	if meta.Name == "" {
		d.rep.Add(report.SeverityError, doc.At(fieldpath.Path{"metadata", "name"}), "the %s has no name: set "+
			"metadata.name", kind)
		return false
	}
	if namespaced && meta.Namespace == "" {
		if d.opts.DefaultNamespace == "" {
			d.rep.Add(report.SeverityError, doc.At(fieldpath.Path{"metadata", "namespace"}), "the %s has no "+
				"namespace: set metadata.namespace, or pass --namespace to give one to every input object that "+
				"has none", kind)
			return false
		}
		meta.Namespace = d.opts.DefaultNamespace
	}
	return true
}

// header checks the top-level fields and decodes the metadata of a namespaced OpenShift Service Mesh 2 object.
func (d *decoder) header(doc Document, kind string, meta *metav1.ObjectMeta) bool {
	ok := d.topLevel(doc, kind, "apiVersion", "kind", "metadata", "spec", "status")
	return d.metadata(doc, kind, meta, true) && ok
}

func (d *decoder) smmr(doc Document) *SMMR {
	s := &SMMR{Doc: doc}
	ok := d.header(doc, KindSMMR, &s.Meta)
	ok = d.decodePart(doc, KindSMMR, fieldpath.Path{"spec"}, &s.Spec) && ok
	if status, isMap := doc.Object["status"].(map[string]any); isMap {
		if raw, has := status["configuredMembers"]; has {
			var members []string
			if d.decodePart(doc, KindSMMR, fieldpath.Path{"status", "configuredMembers"}, &members) {
				s.Configured, s.HasConfigured = members, raw != nil
			}
		}
	}
	if !ok {
		return nil
	}
	return s
}

func (d *decoder) smm(doc Document) *SMM {
	s := &SMM{Doc: doc}
	ok := d.header(doc, KindSMM, &s.Meta)
	ok = d.decodePart(doc, KindSMM, fieldpath.Path{"spec"}, &s.Spec) && ok
	if !ok {
		return nil
	}
	if s.Spec.ControlPlaneRef.Name == "" || s.Spec.ControlPlaneRef.Namespace == "" {
		d.rep.Add(report.SeverityError, doc.At(fieldpath.Path{"spec", "controlPlaneRef"}), "set both "+
			"controlPlaneRef.name and controlPlaneRef.namespace to the ServiceMeshControlPlane the namespace "+
			"belongs to")
		return nil
	}
	return s
}

// namespace reads a Namespace for its name and labels; the rest of it is not looked at.
func (d *decoder) namespace(doc Document) *Namespace {
	ns := &Namespace{Doc: doc}
	if !d.metadata(doc, KindNamespace, &ns.Meta, false) {
		return nil
	}
	return ns
}

// gateway reads an Istio Gateway for its selector and hosts; fields not needed are not looked at.
func (d *decoder) gateway(doc Document) *Gateway {
	gw := &Gateway{Doc: doc}
	if !d.metadata(doc, KindGateway, &gw.Meta, true) {
		return nil
	}
	data, err := json.Marshal(doc.Object["spec"])
	if err == nil {
		err = json.Unmarshal(data, &gw.Spec)
	}
	if err != nil {
		d.rep.Add(report.SeverityWarning, doc.At(fieldpath.Path{"spec"}), "the Gateway cannot be read (%s); no "+
			"OpenShift Route is generated for it", strict.TrimError(err))
		return nil
	}
	return gw
}
