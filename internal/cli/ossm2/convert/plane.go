package convert

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
)

// plane is one ServiceMeshControlPlane being converted: its input, and what the section converters generate for
// it. Each section converter reads the input through src (which also reports findings about input fields), puts
// Helm values and mesh settings into istio, and adds the other objects to policies, gateways and namespaces.
type plane struct {
	smcp *input.SMCP
	spec *input.SMCPSpec
	opts Options
	rep  *report.Report
	// name is the Istio's name, ns the control plane namespace.
	name, ns string
	src      *source
	istio    *istioSpec
	// policies, gateways and namespaces are generated objects, in that output order after the Istio.
	policies, gateways []resource.Object
	namespaces         *namespaceLabels
	// clusterWide is true for mode ClusterWide.
	clusterWide bool
	// cni is true when the control plane's pods are set up by CNI.
	cni bool
	// objects are the control plane's generated objects, once converted.
	objects []resource.Object
}

func newPlane(smcp *input.SMCP, opts Options, rep *report.Report) *plane {
	name := istioName(smcp.Meta.Name, smcp.Meta.Namespace)
	src := &source{smcp: smcp, rep: rep}
	return &plane{
		smcp: smcp, spec: &smcp.Spec, opts: opts, rep: rep, name: name, ns: smcp.Meta.Namespace, src: src,
		istio:      newIstioSpec(name, src),
		namespaces: newNamespaceLabels(rep),
	}
}

// convert runs the section converters, in the order their findings are reported, and assembles the objects.
func (p *plane) convert(in *input.Set) {
	convertVersion(p)
	convertProfiles(p)
	convertMode(p)
	implicitDefaults(p)
	convertGeneral(p)
	convertMeshConfig(p)
	convertCluster(p)
	convertPolicy(p)
	convertTelemetry(p)
	convertTracing(p)
	convertProxy(p)
	convertSecurity(p)
	convertRuntime(p)
	convertAddons(p)
	convertGateways(p, in.Gateways)
	convertMembers(p, in)
	convertTechPreview(p)
	p.finish()
}

// finish builds the Istio and assembles the control plane's objects; nothing is generated when the Istio cannot
// be built.
func (p *plane) finish() {
	istio, ok := p.istio.build(p)
	if !ok {
		return
	}
	p.objects = append(p.objects, istio)
	p.objects = append(p.objects, p.policies...)
	p.objects = append(p.objects, p.gateways...)
	p.objects = append(p.objects, p.namespaces.objects...)
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
