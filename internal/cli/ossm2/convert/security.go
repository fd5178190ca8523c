package convert

import (
	"strings"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
)

// tlsVersions maps OpenShift Service Mesh 2 TLS versions to upstream's.
var tlsVersions = map[string]string{"TLS_AUTO": "TLS_AUTO", "TLSv1_2": "TLSV1_2", "TLSv1_3": "TLSV1_3"}

// convertSecurity carries over spec.security: trust domain, certificate authority, identity, control plane TLS,
// data plane mTLS and the network policies OpenShift Service Mesh 2 managed.
func convertSecurity(p *plane) {
	sec := p.spec.Security
	if sec == nil {
		sec = &input.SecurityConfig{}
	}
	at := fieldpath.Path{"security"}
	if t := sec.Trust; t != nil {
		p.istio.carryString(at.Child("trust", "domain"), vpath("meshConfig.trustDomain"), t.Domain)
		if len(t.AdditionalDomains) > 0 {
			p.istio.carry(at.Child("trust", "additionalDomains"), vpath("meshConfig.trustDomainAliases"),
				t.AdditionalDomains)
		}
	}
	certificateAuthority(p, at.Child("certificateAuthority"), sec.CertificateAuthority)
	identity(p, at.Child("identity"), sec.Identity)
	if cp := sec.ControlPlane; cp != nil {
		controlPlaneSecurity(p, at.Child("controlPlane"), cp)
	}
	dataPlaneMTLS(p, at.Child("dataPlane"), sec)
	if sec.ManageNetworkPolicy == nil || *sec.ManageNetworkPolicy {
		p.rep.Add(report.SeverityWarning, p.src.atOrUnset(at.Child("manageNetworkPolicy"),
			sec.ManageNetworkPolicy != nil), "OpenShift Service Mesh 2 created NetworkPolicies (istio-mesh, "+
			"istio-expose-route, ...) in the control plane and member namespaces, and deletes them with the "+
			"ServiceMeshControlPlane; upstream Istio creates none. If you rely on that isolation, create equivalent "+
			"NetworkPolicies (e.g. allow ingress from namespaces labelled %s=%s)", DiscoveryLabel, p.name)
	}
	p.istio.carryString(at.Child("jwksResolverCA"), vpath("pilot.jwksResolverExtraRootCA"), sec.JwksResolverCA)
}

// controlPlaneSecurity carries over spec.security.controlPlane: istiod's certificate provider and TLS settings.
func controlPlaneSecurity(p *plane, at fieldpath.Path, cp *input.ControlPlaneSecurity) {
	if cp.MTLS != nil {
		p.src.note(at.Child("mtls"), "control plane mTLS is always on upstream; the setting is not needed")
	}
	p.istio.carryString(at.Child("certProvider"), vpath("global.pilotCertProvider"), strings.ToLower(cp.CertProvider))
	tls := cp.TLS
	if tls == nil {
		return
	}
	tp := at.Child("tls")
	if v := tls.MinProtocolVersion; v != "" {
		if up, ok := tlsVersions[v]; ok {
			p.istio.carry(tp.Child("minProtocolVersion"), vpath("meshConfig.meshMTLS.minProtocolVersion"), up)
			p.istio.carry(tp.Child("minProtocolVersion"), vpath("meshConfig.tlsDefaults.minProtocolVersion"), up)
		} else {
			p.src.warn(tp.Child("minProtocolVersion"), "%s has no upstream counterpart (upstream supports TLS 1.2 "+
				"and 1.3 only): not carried over", v)
		}
	}
	if tls.MaxProtocolVersion != "" {
		p.src.warn(tp.Child("maxProtocolVersion"), "upstream Istio has no maximum TLS version setting: not carried "+
			"over (Envoy negotiates up to TLS 1.3)")
	}
	if len(tls.CipherSuites) > 0 {
		p.istio.carry(tp.Child("cipherSuites"), vpath("meshConfig.tlsDefaults.cipherSuites"), tls.CipherSuites)
	}
	if len(tls.ECDHCurves) > 0 {
		p.istio.carry(tp.Child("ecdhCurves"), vpath("meshConfig.tlsDefaults.ecdhCurves"), tls.ECDHCurves)
	}
}

// identity reads spec.security.identity: Kubernetes (first-party tokens, gone upstream) or ThirdParty.
func identity(p *plane, at fieldpath.Path, id *input.IdentityConfig) {
	typ := "Kubernetes"
	if id != nil && id.Type != "" {
		typ = id.Type
	}
	switch typ {
	case "Kubernetes":
		p.rep.Add(report.SeverityWarning, p.src.atOrUnset(at.Child("type"), id != nil && id.Type != ""), "identity "+
			"type Kubernetes (first-party service account tokens) no longer exists upstream: proxies use projected "+
			"third-party tokens with audience istio-ca, which OpenShift supports; nothing to do unless a CA or an "+
			"external service checked the token type")
	case "ThirdParty":
		tp := id.ThirdParty
		if tp == nil {
			return
		}
		if tp.Audience != "" {
			p.istio.carry(at.Child("thirdParty", "audience"), vpath("global.sds.token"),
				map[string]any{"aud": tp.Audience})
		}
		if tp.Issuer != "" {
			p.src.warn(at.Child("thirdParty", "issuer"), "the token issuer is read from the token upstream: not "+
				"carried over")
		}
		if tp.TokenPath != "" {
			p.src.warn(at.Child("thirdParty", "tokenPath"), "the token path is fixed upstream: not carried over")
		}
	default:
		p.src.fail(at.Child("type"), "unknown identity type %q: use Kubernetes or ThirdParty", typ)
	}
}

// dataPlaneMTLS carries over auto mTLS, and turns enforced data plane mTLS into a mesh-wide STRICT
// PeerAuthentication.
func dataPlaneMTLS(p *plane, at fieldpath.Path, sec *input.SecurityConfig) {
	dp := sec.DataPlane
	if dp != nil && dp.AutoMTLS != nil {
		p.istio.carry(at.Child("automtls"), vpath("meshConfig.enableAutoMtls"), *dp.AutoMTLS)
		if !*dp.AutoMTLS {
			p.src.warn(at.Child("automtls"), "with auto mTLS off, clients use mTLS only where a DestinationRule says "+
				"ISTIO_MUTUAL; OpenShift Service Mesh 2 created such DestinationRules, upstream does not: create "+
				"them, or turn auto mTLS on")
		}
	}
	if dp == nil || dp.MTLS == nil || !*dp.MTLS {
		p.rep.Add(report.SeverityInfo, p.src.unset(at.Child("mtls")), "data plane mTLS was not enforced "+
			"(PERMISSIVE), which is also the upstream default: no PeerAuthentication is generated")
		return
	}
	pa := resource.New("security.istio.io/v1", "PeerAuthentication", p.ns, MeshMTLSPolicyName)
	pa.Object["spec"] = map[string]any{"mtls": map[string]any{"mode": "STRICT"}}
	obj := resource.Object{Unstructured: pa, Comment: "Mesh-wide strict mTLS, which OpenShift Service Mesh 2 " +
		"enforced with the PeerAuthentication default (owned by the ServiceMeshControlPlane and deleted with it). " +
		"The Istio control plane reads it from its root namespace " + p.ns + "."}
	p.rep.Carry(p.src.at(at.Child("mtls")), report.Target{Ref: obj.Ref(), Path: "spec.mtls.mode"}, "mesh-wide, in "+
		"the root namespace "+p.ns)
	p.policies = append(p.policies, obj)
	p.src.note(at.Child("mtls"), "PeerAuthentication %s/%s (STRICT) replaces OpenShift Service Mesh 2's "+
		"%s/default, which is deleted with the ServiceMeshControlPlane; while both exist the older one applies, "+
		"with the same effect. The DestinationRules OpenShift Service Mesh 2 created are not needed: auto mTLS "+
		"picks mTLS", p.ns, MeshMTLSPolicyName, p.ns)
}
