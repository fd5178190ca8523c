// Package convert holds the conversion rules from OpenShift Service Mesh 2 to Sail: for each
// ServiceMeshControlPlane an Istio (its settings as Helm values), the objects that replace what OpenShift Service
// Mesh 2 did implicitly (a STRICT PeerAuthentication, a Telemetry for tracing, gateway Deployments, Routes) and
// the Namespace label patches of its members; an IstioCNI when pods are set up by CNI. Each section of the
// ServiceMeshControlPlane has its own converter (version and profiles, mesh settings, policy and telemetry,
// tracing, add-ons, proxy, security, runtime, gateways, members), and every field carried over, dropped or
// blocking is reported with its input path.
package convert

import (
	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
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

// Options tune the conversion rules.
type Options struct {
	// Target is the Istio version of the generated Istio and IstioCNI.
	Target versions.Version
	// VersionChosen tells that the user chose the target version, which acknowledges the version jump (reported
	// as a note, not a warning).
	VersionChosen bool
	// Platform is PlatformOpenShift or PlatformKubernetes.
	Platform string
	// OperatorNamespace is the namespace of the OpenShift Service Mesh 2 operator, never a mesh member.
	OperatorNamespace string
}

// Run converts the decoded inputs and returns the generated objects in the order to apply them: the IstioCNI
// first (when needed), then each control plane's objects. Findings and carried-over fields go to rep.
func Run(in *input.Set, opts Options, rep *report.Report) []resource.Object {
	smcps := checkInputs(in, rep)
	var cni bool
	var objects []resource.Object
	for _, s := range smcps {
		p := newPlane(s, opts, rep)
		p.convert(in)
		cni = cni || p.cni
		objects = append(objects, p.objects...)
	}
	if cni {
		objects = append(cniObjects(opts), objects...)
	}
	return objects
}

// checkInputs returns the control planes to convert (one per namespace), and warns about member rolls and
// members whose control plane is not in the input.
func checkInputs(in *input.Set, rep *report.Report) []*input.SMCP {
	seen := map[string]*input.SMCP{}
	var smcps []*input.SMCP
	for _, s := range in.SMCPs {
		if prev, dup := seen[s.Meta.Namespace]; dup {
			rep.Add(report.SeverityError, s.Doc.Loc, "a second ServiceMeshControlPlane in namespace %s (the first is "+
				"%s in %s): OpenShift Service Mesh 2 allows one per namespace; remove one of them from the input",
				s.Meta.Namespace, prev.Meta.Name, prev.Doc.Loc.Source())
			continue
		}
		seen[s.Meta.Namespace] = s
		smcps = append(smcps, s)
	}
	for _, r := range in.SMMRs {
		if seen[r.Meta.Namespace] == nil {
			rep.Add(report.SeverityWarning, r.Doc.Loc, "no ServiceMeshControlPlane in namespace %s is in the "+
				"input: this member roll is not converted; add the control plane to the input", r.Meta.Namespace)
		} else if r.Meta.Name != "default" {
			rep.Add(report.SeverityWarning, r.Doc.Loc, "OpenShift Service Mesh 2 only honours the member roll "+
				"named default; this one is not converted")
		}
	}
	for _, m := range in.SMMs {
		ref := m.Spec.ControlPlaneRef
		if s := seen[ref.Namespace]; s == nil || s.Meta.Name != ref.Name {
			rep.Add(report.SeverityWarning, m.Doc.At(fieldpath.Path{"spec", "controlPlaneRef"}), "ServiceMeshControlPlane "+
				"%s/%s is not in the input: namespace %s is not converted; add the control plane to the input",
				ref.Namespace, ref.Name, m.Meta.Namespace)
		}
	}
	return smcps
}

// cniObjects are the IstioCNI and its namespace.
func cniObjects(opts Options) []resource.Object {
	ns := resource.New("v1", "Namespace", "", CNINamespace)
	cni := resource.New("sailoperator.io/v1", "IstioCNI", "", "default")
	spec := map[string]any{"version": opts.Target.Name, "namespace": CNINamespace}
	if opts.Platform == PlatformOpenShift {
		spec["profile"] = "openshift"
	}
	cni.Object["spec"] = spec
	return []resource.Object{
		{Unstructured: ns, Comment: "Namespace of the IstioCNI (created if missing)"},
		{Unstructured: cni, Comment: "Istio CNI node agent: required on OpenShift, and wherever pods were set up by " +
			"CNI"},
	}
}
