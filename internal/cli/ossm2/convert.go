package ossm2

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"runtime/debug"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Platforms the generated resources can target.
const (
	// PlatformOpenShift: OpenShift Service Mesh 2 ran on OpenShift; the Istio and IstioCNI use the openshift
	// profile.
	PlatformOpenShift = "openshift"
	// PlatformKubernetes: plain Kubernetes; no profile is set.
	PlatformKubernetes = "kubernetes"
)

// Labels and names the conversion uses.
const (
	// DiscoveryLabel is the namespace label that the generated discoverySelectors of a MultiTenant control plane
	// select on; its value is the Istio's name.
	DiscoveryLabel = "istio-discovery"
	// IgnoreNamespaceLabel tells OpenShift Service Mesh 2 to leave a namespace alone while both meshes coexist.
	IgnoreNamespaceLabel = "maistra.io/ignore-namespace"
	// RevisionLabel selects the control plane revision that injects a namespace's pods.
	RevisionLabel = "istio.io/rev"
	// CNINamespace is the namespace of the generated IstioCNI.
	CNINamespace = "istio-cni"
	// MeshMTLSPolicyName is the name of the mesh-wide PeerAuthentication generated when data plane mTLS was on.
	// It differs from OpenShift Service Mesh 2's "default", which is owned by the ServiceMeshControlPlane and is
	// deleted with it.
	MeshMTLSPolicyName = "mesh-mtls"
	// MeshTelemetryName is the name of the mesh-wide Telemetry generated for tracing.
	MeshTelemetryName = "mesh-default"
)

// Options tune a conversion.
type Options struct {
	// Version is the Istio version (or alias) of the generated Istio and IstioCNI; empty means the newest
	// supported version. Setting it also acknowledges the version jump (reported as a note, not a warning).
	Version string
	// Platform is PlatformOpenShift (the default) or PlatformKubernetes.
	Platform string
	// DefaultNamespace is given to input objects that have no metadata.namespace.
	DefaultNamespace string
	// OperatorNamespace is the namespace of the OpenShift Service Mesh 2 operator, never a mesh member.
	// Default: openshift-operators.
	OperatorNamespace string
	// AllowUnknownFields turns unknown input fields from errors into warnings.
	AllowUnknownFields bool
	// Versions is the list of supported versions; nil means the list embedded in Sail.
	Versions *versions.List
}

func (o Options) withDefaults() Options {
	if o.Platform == "" {
		o.Platform = PlatformOpenShift
	}
	if o.OperatorNamespace == "" {
		o.OperatorNamespace = "openshift-operators"
	}
	if o.Versions == nil {
		o.Versions = versions.Default()
	}
	return o
}

// Object is a generated object and a comment saying where it comes from.
type Object struct {
	*unstructured.Unstructured
	// Comment is written above the object in YAML output.
	Comment string
}

// Ref returns the object's reference.
func (o Object) Ref() ObjectRef {
	return ObjectRef{APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
}

// Result is the outcome of a conversion.
type Result struct {
	// Objects are the generated objects, in the order to apply them.
	Objects []Object
	// Report says what was carried over, and what was not.
	Report *Report
}

// Convert converts the documents read from the input. It never panics: an unexpected failure is reported as an
// error finding.
func Convert(docs []Document, opts Options) (res *Result) {
	rep := &Report{}
	res = &Result{Report: rep}
	defer func() {
		if r := recover(); r != nil {
			res.Objects = nil
			rep.add(SeverityError, Location{}, "internal error: %v; please report it with the input that caused "+
				"it\n%s", r, debug.Stack())
		}
	}()
	opts = opts.withDefaults()
	if opts.Platform != PlatformOpenShift && opts.Platform != PlatformKubernetes {
		rep.add(SeverityError, Location{}, "unknown platform %q: use %s or %s", opts.Platform, PlatformOpenShift,
			PlatformKubernetes)
		return res
	}
	target, err := opts.Versions.Resolve(defaultString(opts.Version, opts.Versions.Newest().Name))
	if err != nil {
		rep.add(SeverityError, Location{}, "%v", err)
		return res
	}
	c := &converter{opts: opts, rep: rep, target: target}
	in := (&decoder{opts: opts, rep: rep}).decodeAll(docs)
	if !hasKind(docs, kindSMCP) && rep.Count(SeverityError) == 0 && rep.Count(SeverityBlocker) == 0 {
		rep.add(SeverityError, Location{}, "the input has no ServiceMeshControlPlane: nothing to convert; add the "+
			"control plane (oc get smcp -n <namespace> -o yaml), or use --from-cluster")
	}
	c.run(in)
	res.Objects = c.ordered()
	for i := range res.Objects {
		res.Objects[i].Object = normalizeJSON(res.Objects[i].Object).(map[string]any)
	}
	for _, o := range res.Objects {
		rep.Outputs = append(rep.Outputs, o.Ref())
	}
	return res
}

// converter holds the state of one conversion.
type converter struct {
	opts   Options
	rep    *Report
	target versions.Version
	// cni is set when an IstioCNI is needed; cniProfile is its profile.
	cni bool
	// perCP are the objects generated for each control plane, in input order.
	perCP [][]Object
}

func (c *converter) run(in *inputs) {
	seen := map[string]*smcpInput{}
	var smcps []*smcpInput
	for _, s := range in.smcps {
		if prev, dup := seen[s.meta.Namespace]; dup {
			c.rep.add(SeverityError, s.doc.Loc, "a second ServiceMeshControlPlane in namespace %s (the first is %s "+
				"in %s): OpenShift Service Mesh 2 allows one per namespace; remove one of them from the input",
				s.meta.Namespace, prev.meta.Name, prev.doc.Loc.Source())
			continue
		}
		seen[s.meta.Namespace] = s
		smcps = append(smcps, s)
	}
	for _, r := range in.smmrs {
		if seen[r.meta.Namespace] == nil {
			c.rep.add(SeverityWarning, r.doc.Loc, "no ServiceMeshControlPlane in namespace %s is in the input: "+
				"this member roll is not converted; add the control plane to the input", r.meta.Namespace)
		} else if r.meta.Name != "default" {
			c.rep.add(SeverityWarning, r.doc.Loc, "OpenShift Service Mesh 2 only honours the member roll named "+
				"default; this one is not converted")
		}
	}
	for _, m := range in.smms {
		ref := m.spec.ControlPlaneRef
		if s := seen[ref.Namespace]; s == nil || s.meta.Name != ref.Name {
			c.rep.add(SeverityWarning, c.at(m.doc, Path{"spec", "controlPlaneRef"}), "ServiceMeshControlPlane %s/%s "+
				"is not in the input: namespace %s is not converted; add the control plane to the input",
				ref.Namespace, ref.Name, m.meta.Namespace)
		}
	}
	for _, s := range smcps {
		x := newCPConv(c, s)
		x.convert(in)
		c.perCP = append(c.perCP, x.objects)
	}
}

func (c *converter) at(doc Document, p Path) Location {
	l := doc.Loc
	l.Path = p.String()
	return l
}

// ordered returns the IstioCNI first, then each control plane's objects.
func (c *converter) ordered() []Object {
	var out []Object
	if c.cni {
		ns := newObject("v1", "Namespace", "", CNINamespace)
		out = append(out, Object{Unstructured: ns, Comment: "Namespace of the IstioCNI (created if missing)"})
		cni := newObject("sailoperator.io/v1", "IstioCNI", "", "default")
		spec := map[string]any{"version": c.target.Name, "namespace": CNINamespace}
		if c.opts.Platform == PlatformOpenShift {
			spec["profile"] = "openshift"
		}
		cni.Object["spec"] = spec
		out = append(out, Object{Unstructured: cni, Comment: "Istio CNI node agent: required on OpenShift, and " +
			"wherever pods were set up by CNI"})
	}
	for _, objs := range c.perCP {
		out = append(out, objs...)
	}
	return out
}

// newObject returns an object with only its type and name set.
func newObject(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetName(name)
	if namespace != "" {
		u.SetNamespace(namespace)
	}
	return u
}

// toUnstructured converts a typed object, without status and creation timestamp.
func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// istioName names the Istio of a control plane: <smcp name>-<smcp namespace>, unique in the cluster (one
// ServiceMeshControlPlane per namespace), never "default", and different from the SMCP's own name so that its
// istiod-<name> objects do not collide with the SMCP's. Names longer than 63 characters are shortened with a hash.
func istioName(name, namespace string) string {
	n := name + "-" + namespace
	if len(n) <= 63 {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return strings.TrimRight(n[:54], "-") + "-" + hex.EncodeToString(sum[:])[:8]
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sortedLabelString renders a map as "k:v,k:v" sorted by key.
func sortedLabelString(m map[string]string) string {
	keys := sortedKeys(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + m[k]
	}
	return strings.Join(parts, ",")
}

func ptr[T any](v T) *T { return &v }

func intOrStr(i int32) intstr.IntOrString { return intstr.FromInt32(i) }

func hasKind(docs []Document, kind string) bool {
	for _, d := range docs {
		if d.Kind == kind {
			return true
		}
	}
	return false
}
