package convert

import (
	"fmt"
	"strings"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// ossmIstioVersions maps OpenShift Service Mesh 2 control plane versions to the Istio minor version they run.
var ossmIstioVersions = map[string]string{
	"v2.0": "v1.6.0", "v2.1": "v1.9.0", "v2.2": "v1.12.0", "v2.3": "v1.14.0", "v2.4": "v1.16.0", "v2.5": "v1.18.0",
	"v2.6": "v1.20.0",
}

// convertVersion reports the version jump from the Istio that spec.version runs to the target version.
func convertVersion(p *plane) {
	at := fieldpath.Path{"version"}
	v := p.spec.Version
	from, known := ossmIstioVersions[v]
	switch {
	case v == "":
		from = ossmIstioVersions["v2.6"]
		p.src.note(at, "no version is set: assumed v2.6 (Istio 1.20)")
	case strings.HasPrefix(v, "v1."):
		p.src.block(at, "version %s is an OpenShift Service Mesh 1 control plane (Mixer era): upgrade the "+
			"ServiceMeshControlPlane to v2.6 first, then migrate", v)
		return
	case !known:
		from = ossmIstioVersions["v2.6"]
		p.src.warn(at, "unknown OpenShift Service Mesh version %s (known: v2.0 to v2.6): converted as v2.6", v)
	}
	target := p.opts.Target.Name
	fromMinor := strings.TrimSuffix(from, ".0")
	p.istio.record(p.src.at(at), "spec.version", "Istio "+fromMinor+" -> "+target)
	jump, err := versions.MinorDistance(from, target)
	if err != nil {
		jump = 0
	}
	if v == "" {
		v = "v2.6"
	}
	msg := fmt.Sprintf("OpenShift Service Mesh %s runs Istio %s; the Istio runs %s, %d minor versions later, which "+
		"cannot be reached by an in-place upgrade. The Istio is a second control plane next to the "+
		"ServiceMeshControlPlane: move workloads to it namespace by namespace (relabel, then restart them), then "+
		"delete the ServiceMeshControlPlane", v, fromMinor, target, jump)
	if p.opts.VersionChosen {
		p.src.note(at, "%s", msg)
	} else {
		p.src.warn(at, "%s. Pass --version to choose the target version and acknowledge the jump", msg)
	}
}

// convertProfiles reports where the settings of the profiles come from, and sets the openshift profile.
func convertProfiles(p *plane) {
	at := fieldpath.Path{"profiles"}
	profiles := p.spec.Profiles
	if len(profiles) == 0 {
		profiles = []string{"default"}
	}
	for i, name := range profiles {
		if name == "default" {
			continue
		}
		if p.smcp.UsesApplied() {
			p.src.note(at.Index(i), "profile %s: its settings are read from status.appliedSpec, where OpenShift "+
				"Service Mesh 2 applied them", name)
		} else {
			p.src.warn(at.Index(i), "profile %s: its settings are not in the input, since status.appliedSpec is "+
				"missing; export the control plane with its status (oc get smcp -n %s %s -o yaml) or use "+
				"--from-cluster, so that the profile's settings are converted", name, p.ns, p.smcp.Meta.Name)
		}
	}
	if !p.smcp.UsesApplied() {
		p.rep.Add(report.SeverityWarning, p.smcp.Doc.Loc, "status.appliedSpec is missing: settings that OpenShift "+
			"Service Mesh 2 took from its profiles (e.g. the istio-ingressgateway and istio-egressgateway gateways) "+
			"are not converted, only its documented implicit defaults are assumed; export the control plane with "+
			"its status (oc get smcp -o yaml) or use --from-cluster")
	}
	if p.opts.Platform == PlatformOpenShift {
		p.istio.record(p.src.at(at), "spec.profile", "OpenShift Service Mesh 2 ran on OpenShift: profile openshift")
	}
}

// convertMode reads spec.mode: MultiTenant (the default) or ClusterWide.
func convertMode(p *plane) {
	switch p.spec.Mode {
	case "", "MultiTenant":
		if v, ok := p.spec.TechPreview["controlPlaneMode"].(string); ok && v == "ClusterScoped" {
			p.clusterWide = true
			p.src.note(fieldpath.Path{"techPreview", "controlPlaneMode"}, "controlPlaneMode ClusterScoped "+
				"(technology preview) is converted like mode ClusterWide")
		}
	case "ClusterWide":
		p.clusterWide = true
	case "Federation":
		p.src.fail(fieldpath.Path{"mode"}, "Federation is not a mode (federation is set up with ServiceMeshPeer "+
			"resources): use MultiTenant or ClusterWide")
	default:
		p.src.fail(fieldpath.Path{"mode"}, "unknown mode %q: use MultiTenant or ClusterWide", p.spec.Mode)
	}
}

// implicitDefaults carries over what OpenShift Service Mesh 2 always configured and upstream does not.
func implicitDefaults(p *plane) {
	note := "OpenShift Service Mesh 2 built-in default"
	for _, k := range []string{"ISTIO_META_DNS_CAPTURE", "ISTIO_META_DNS_AUTO_ALLOCATE", "PROXY_XDS_VIA_AGENT"} {
		p.istio.carryDefault(nil, fieldpath.Path{"meshConfig", "defaultConfig", "proxyMetadata", k}, "true",
			note+" (DNS capture)")
	}
	p.istio.carryDefault(nil, vpath("meshConfig.ingressControllerMode"), "OFF", note+" (no Kubernetes Ingress "+
		"support)")
}
