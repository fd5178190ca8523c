package ossm2

import (
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// smcpInput is a decoded ServiceMeshControlPlane.
type smcpInput struct {
	doc  Document
	meta metav1.ObjectMeta
	// spec is the effective spec: status.appliedSpec when present (profiles applied), else spec.
	spec smcpSpec
	// rawSpec and rawApplied are spec and status.appliedSpec as read, to tell which one a value came from.
	rawSpec    map[string]any
	rawApplied map[string]any
}

// usesApplied tells whether the conversion reads status.appliedSpec.
func (s *smcpInput) usesApplied() bool { return s.rawApplied != nil }

// smmrInput is a decoded ServiceMeshMemberRoll.
type smmrInput struct {
	doc  Document
	meta metav1.ObjectMeta
	spec smmrSpec
	// configured is status.configuredMembers; hasConfigured tells whether the status had it.
	configured    []string
	hasConfigured bool
}

// smmInput is a decoded ServiceMeshMember.
type smmInput struct {
	doc  Document
	meta metav1.ObjectMeta
	spec smmSpec
}

// namespaceInput is a Namespace given for context (its labels, to evaluate member selectors).
type namespaceInput struct {
	doc  Document
	meta metav1.ObjectMeta
}

// gatewayInput is an Istio Gateway given for context (its hosts, to generate OpenShift Routes).
type gatewayInput struct {
	doc  Document
	meta metav1.ObjectMeta
	spec istioGatewaySpec
}

// inputs are the decoded input objects, in input order.
type inputs struct {
	smcps      []*smcpInput
	smmrs      []*smmrInput
	smms       []*smmInput
	namespaces []*namespaceInput
	gateways   []*gatewayInput
}

// decoder turns documents into inputs, reporting problems.
type decoder struct {
	opts Options
	rep  *Report
}

func (d *decoder) at(doc Document, p Path) Location {
	l := doc.Loc
	l.Path = p.String()
	return l
}

// problems reports field problems: unknown fields are errors, or warnings with AllowUnknownFields; wrong types
// are errors. It returns true when decoding can go on.
func (d *decoder) problems(doc Document, kind string, problems []fieldProblem) bool {
	ok := true
	for _, p := range problems {
		switch {
		case p.Unknown && d.opts.AllowUnknownFields:
			d.rep.add(SeverityWarning, d.at(doc, p.Path), "unknown field, ignored (not carried over)")
		case p.Unknown:
			ok = false
			d.rep.add(SeverityError, d.at(doc, p.Path), "unknown field: check its spelling against the %s API "+
				"of OpenShift Service Mesh 2, remove it, or pass --allow-unknown-fields to convert without it", kind)
		default:
			ok = false
			d.rep.add(SeverityError, d.at(doc, p.Path), "%s; fix the value", p.Message)
		}
	}
	return ok
}

// decodePart decodes obj[key] strictly into into, reporting problems under path key. Unknown fields are dropped
// first when they are allowed.
func (d *decoder) decodePart(doc Document, kind string, key Path, into any) bool {
	tree, _ := lookup(doc.Object, key)
	if tree == nil {
		return true
	}
	problems := checkTree(tree, typeOfPtr(into), key)
	if !d.problems(doc, kind, problems) {
		return false
	}
	dropUnknown(tree, key, problems)
	if rest := decodeStrict(tree, into, key); len(rest) > 0 {
		return d.problems(doc, kind, rest)
	}
	return true
}

// topLevel checks that obj has no top-level field other than allowed.
func (d *decoder) topLevel(doc Document, kind string, allowed ...string) bool {
	ok := true
	for _, k := range sortedKeys(doc.Object) {
		if !contains(allowed, k) {
			ok = d.problems(doc, kind, []fieldProblem{{Path: Path{k}, Unknown: true}}) && ok
		}
	}
	return ok
}

func (d *decoder) metadata(doc Document, kind string, meta *metav1.ObjectMeta, namespaced bool) bool {
	if _, ok := doc.Object["metadata"]; !ok {
		d.rep.add(SeverityError, d.at(doc, Path{"metadata"}), "the %s has no metadata: set metadata.name", kind)
		return false
	}
	if !d.decodePart(doc, kind, Path{"metadata"}, meta) {
		return false
	}
	if meta.Name == "" {
		d.rep.add(SeverityError, d.at(doc, Path{"metadata", "name"}), "the %s has no name: set metadata.name", kind)
		return false
	}
	if namespaced && meta.Namespace == "" {
		if d.opts.DefaultNamespace == "" {
			d.rep.add(SeverityError, d.at(doc, Path{"metadata", "namespace"}), "the %s has no namespace: set "+
				"metadata.namespace, or pass --namespace to give one to every input object that has none", kind)
			return false
		}
		meta.Namespace = d.opts.DefaultNamespace
	}
	return true
}

// decodeAll decodes every document.
func (d *decoder) decodeAll(docs []Document) *inputs {
	in := &inputs{}
	for _, doc := range docs {
		d.rep.Inputs = append(d.rep.Inputs, doc.Loc)
		gv, err := schema.ParseGroupVersion(doc.APIVersion)
		if err != nil {
			d.rep.add(SeverityError, doc.Loc, "apiVersion %q is not of the form group/version", doc.APIVersion)
			continue
		}
		switch {
		case gv.Group == maistraGroup && doc.Kind == kindSMCP:
			if gv.Version != "v2" {
				d.rep.add(SeverityError, doc.Loc, "%s %s is not supported: read the control plane through the "+
					"maistra.io/v2 API (oc get servicemeshcontrolplanes.v2.maistra.io -n <namespace> -o yaml) "+
					"and convert that", doc.APIVersion, doc.Kind)
				continue
			}
			if s := d.smcp(doc); s != nil {
				in.smcps = append(in.smcps, s)
			}
		case gv.Group == maistraGroup && doc.Kind == kindSMMR:
			if d.version(doc, gv, "v1") {
				if s := d.smmr(doc); s != nil {
					in.smmrs = append(in.smmrs, s)
				}
			}
		case gv.Group == maistraGroup && doc.Kind == kindSMM:
			if d.version(doc, gv, "v1") {
				if s := d.smm(doc); s != nil {
					in.smms = append(in.smms, s)
				}
			}
		case gv.Group == maistraGroup && doc.Kind == "ServiceMeshExtension":
			d.rep.add(SeverityBlocker, doc.Loc, "ServiceMeshExtension has no upstream counterpart: rewrite it as "+
				"an extensions.istio.io/v1alpha1 WasmPlugin (the module must be an OCI image or URL reachable by "+
				"the proxies), apply it, and delete the ServiceMeshExtension")
		case gv.Group == federationGroup || (gv.Group == maistraGroup && isFederationKind(doc.Kind)):
			d.rep.add(SeverityBlocker, doc.Loc, "%s (OpenShift Service Mesh federation) has no upstream "+
				"counterpart: replace federation with Istio multi-cluster (multi-primary or primary-remote with "+
				"east-west gateways) or expose services through gateways, then delete the federation resources",
				doc.Kind)
		case gv.Group == "" && doc.Kind == kindNamespace:
			if ns := d.namespace(doc); ns != nil {
				in.namespaces = append(in.namespaces, ns)
			}
		case gv.Group == "networking.istio.io" && doc.Kind == kindGateway:
			if gw := d.gateway(doc); gw != nil {
				in.gateways = append(in.gateways, gw)
			}
		case gv.Group == maistraGroup:
			d.rep.add(SeverityError, doc.Loc, "unknown OpenShift Service Mesh kind %s: sailctl migrate reads "+
				"ServiceMeshControlPlane, ServiceMeshMemberRoll and ServiceMeshMember; remove it from the input",
				doc.Kind)
		default:
			d.rep.add(SeverityError, doc.Loc, "unknown kind %s (%s): sailctl migrate reads "+
				"ServiceMeshControlPlane (maistra.io/v2), ServiceMeshMemberRoll and ServiceMeshMember "+
				"(maistra.io/v1), and Namespace and networking.istio.io Gateway objects for context; remove it "+
				"from the input", doc.Kind, doc.APIVersion)
		}
	}
	return in
}

func isFederationKind(kind string) bool {
	switch kind {
	case "ServiceMeshPeer", "ExportedServiceSet", "ImportedServiceSet":
		return true
	}
	return false
}

func (d *decoder) version(doc Document, gv schema.GroupVersion, want string) bool {
	if gv.Version == want {
		return true
	}
	d.rep.add(SeverityError, doc.Loc, "%s %s is not supported: use %s/%s", doc.APIVersion, doc.Kind, gv.Group, want)
	return false
}

func (d *decoder) smcp(doc Document) *smcpInput {
	s := &smcpInput{doc: doc}
	ok := d.topLevel(doc, kindSMCP, "apiVersion", "kind", "metadata", "spec", "status")
	ok = d.metadata(doc, kindSMCP, &s.meta, true) && ok
	if spec, isMap := doc.Object["spec"].(map[string]any); isMap {
		s.rawSpec = spec
	} else if doc.Object["spec"] != nil {
		d.rep.add(SeverityError, d.at(doc, Path{"spec"}), "expected an object, got %s",
			describeJSON(doc.Object["spec"]))
		return nil
	}
	var fromSpec smcpSpec
	ok = d.decodePart(doc, kindSMCP, Path{"spec"}, &fromSpec) && ok
	if status, isMap := doc.Object["status"].(map[string]any); isMap {
		if applied, isMap := status["appliedSpec"].(map[string]any); isMap && len(applied) > 0 {
			s.rawApplied = applied
			ok = d.decodePart(doc, kindSMCP, Path{"status", "appliedSpec"}, &s.spec) && ok
			var observed int64
			if n, isNum := status["observedGeneration"].(json.Number); isNum {
				observed, _ = n.Int64()
			}
			if s.meta.Generation > 0 && observed > 0 && observed != s.meta.Generation {
				d.rep.add(SeverityWarning, d.at(doc, Path{"status", "appliedSpec"}), "status.appliedSpec is from "+
					"generation %d but the spec is at generation %d: the spec changed since OpenShift Service "+
					"Mesh 2 last reconciled it; wait for the control plane to be reconciled and export it again",
					observed, s.meta.Generation)
			}
		}
	}
	if s.rawApplied == nil {
		s.spec = fromSpec
	}
	if !ok {
		return nil
	}
	if s.rawSpec == nil {
		s.rawSpec = map[string]any{}
	}
	d.rep.Inputs[len(d.rep.Inputs)-1].Namespace = s.meta.Namespace
	return s
}

func (d *decoder) smmr(doc Document) *smmrInput {
	s := &smmrInput{doc: doc}
	ok := d.topLevel(doc, kindSMMR, "apiVersion", "kind", "metadata", "spec", "status")
	ok = d.metadata(doc, kindSMMR, &s.meta, true) && ok
	ok = d.decodePart(doc, kindSMMR, Path{"spec"}, &s.spec) && ok
	if status, isMap := doc.Object["status"].(map[string]any); isMap {
		if raw, has := status["configuredMembers"]; has {
			var members []string
			if d.decodePart(doc, kindSMMR, Path{"status", "configuredMembers"}, &members) {
				s.configured, s.hasConfigured = members, raw != nil
			}
		}
	}
	if !ok {
		return nil
	}
	return s
}

func (d *decoder) smm(doc Document) *smmInput {
	s := &smmInput{doc: doc}
	ok := d.topLevel(doc, kindSMM, "apiVersion", "kind", "metadata", "spec", "status")
	ok = d.metadata(doc, kindSMM, &s.meta, true) && ok
	ok = d.decodePart(doc, kindSMM, Path{"spec"}, &s.spec) && ok
	if !ok {
		return nil
	}
	if s.spec.ControlPlaneRef.Name == "" || s.spec.ControlPlaneRef.Namespace == "" {
		d.rep.add(SeverityError, d.at(doc, Path{"spec", "controlPlaneRef"}), "set both controlPlaneRef.name and "+
			"controlPlaneRef.namespace to the ServiceMeshControlPlane the namespace belongs to")
		return nil
	}
	return s
}

// namespace reads a Namespace for its name and labels; the rest of it is not looked at.
func (d *decoder) namespace(doc Document) *namespaceInput {
	ns := &namespaceInput{doc: doc}
	if !d.metadata(doc, kindNamespace, &ns.meta, false) {
		return nil
	}
	return ns
}

// gateway reads an Istio Gateway for its selector and hosts; fields not needed are not looked at.
func (d *decoder) gateway(doc Document) *gatewayInput {
	gw := &gatewayInput{doc: doc}
	if !d.metadata(doc, kindGateway, &gw.meta, true) {
		return nil
	}
	data, err := json.Marshal(doc.Object["spec"])
	if err == nil {
		err = json.Unmarshal(data, &gw.spec)
	}
	if err != nil {
		d.rep.add(SeverityWarning, d.at(doc, Path{"spec"}), "the Gateway cannot be read (%s); no OpenShift Route "+
			"is generated for it", trimJSONError(err))
		return nil
	}
	return gw
}

func typeOfPtr(v any) reflectType { return reflectTypeOf(v).Elem() }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
