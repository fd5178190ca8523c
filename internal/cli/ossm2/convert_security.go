package ossm2

import (
	"strings"
)

// tlsVersions maps OpenShift Service Mesh 2 TLS versions to upstream's.
var tlsVersions = map[string]string{"TLS_AUTO": "TLS_AUTO", "TLSv1_2": "TLSV1_2", "TLSv1_3": "TLSV1_3"}

func (x *cpConv) security() {
	sec := x.spec.Security
	if sec == nil {
		sec = &securityConfig{}
	}
	p := Path{"security"}
	if t := sec.Trust; t != nil {
		if t.Domain != "" {
			x.carry(p.Child("trust", "domain"), vpath("meshConfig.trustDomain"), t.Domain)
		}
		if len(t.AdditionalDomains) > 0 {
			x.carry(p.Child("trust", "additionalDomains"), vpath("meshConfig.trustDomainAliases"), t.AdditionalDomains)
		}
	}
	x.certificateAuthority(p.Child("certificateAuthority"), sec.CertificateAuthority)
	x.identity(p.Child("identity"), sec)
	if cp := sec.ControlPlane; cp != nil {
		cpp := p.Child("controlPlane")
		if cp.MTLS != nil {
			x.note(cpp.Child("mtls"), "control plane mTLS is always on upstream; the setting is not needed")
		}
		if cp.CertProvider != "" {
			x.carry(cpp.Child("certProvider"), vpath("global.pilotCertProvider"), strings.ToLower(cp.CertProvider))
		}
		if tls := cp.TLS; tls != nil {
			tp := cpp.Child("tls")
			if v := tls.MinProtocolVersion; v != "" {
				if up, ok := tlsVersions[v]; ok {
					x.carry(tp.Child("minProtocolVersion"), vpath("meshConfig.meshMTLS.minProtocolVersion"), up)
					x.carry(tp.Child("minProtocolVersion"), vpath("meshConfig.tlsDefaults.minProtocolVersion"), up)
				} else {
					x.warn(tp.Child("minProtocolVersion"), "%s has no upstream counterpart (upstream supports "+
						"TLS 1.2 and 1.3 only): not carried over", v)
				}
			}
			if tls.MaxProtocolVersion != "" {
				x.warn(tp.Child("maxProtocolVersion"), "upstream Istio has no maximum TLS version setting: not "+
					"carried over (Envoy negotiates up to TLS 1.3)")
			}
			if len(tls.CipherSuites) > 0 {
				x.carry(tp.Child("cipherSuites"), vpath("meshConfig.tlsDefaults.cipherSuites"), tls.CipherSuites)
			}
			if len(tls.ECDHCurves) > 0 {
				x.carry(tp.Child("ecdhCurves"), vpath("meshConfig.tlsDefaults.ecdhCurves"), tls.ECDHCurves)
			}
		}
	}
	x.dataPlaneMTLS(p.Child("dataPlane"), sec)
	if sec.ManageNetworkPolicy == nil || *sec.ManageNetworkPolicy {
		at := x.unset(p.Child("manageNetworkPolicy"))
		if sec.ManageNetworkPolicy != nil {
			at = x.src(p.Child("manageNetworkPolicy"))
		}
		x.c.rep.add(SeverityWarning, at, "OpenShift Service Mesh 2 created NetworkPolicies (istio-mesh, "+
			"istio-expose-route, ...) in the control plane and member namespaces, and deletes them with the "+
			"ServiceMeshControlPlane; upstream Istio creates none. If you rely on that isolation, create equivalent "+
			"NetworkPolicies (e.g. allow ingress from namespaces labelled %s=%s)", DiscoveryLabel, x.name)
	}
	if sec.JwksResolverCA != "" {
		x.carry(p.Child("jwksResolverCA"), vpath("pilot.jwksResolverExtraRootCA"), sec.JwksResolverCA)
	}
}

func (x *cpConv) certificateAuthority(p Path, ca *caConfig) {
	typ := "Istiod"
	if ca != nil && ca.Type != "" {
		typ = ca.Type
	}
	env := func(from Path, name, value string) {
		x.carry(from, Path{"pilot", "env", name}, value)
		x.warn(from, "carried over as istiod environment variable %s, an unsupported tuning knob upstream: "+
			"check that you still need it", name)
	}
	switch typ {
	case "Istiod":
		signer := "SelfSigned"
		if ca != nil && ca.Istiod != nil && ca.Istiod.Type != "" {
			signer = ca.Istiod.Type
		}
		switch signer {
		case "SelfSigned":
			x.c.rep.add(SeverityInfo, x.src(p), "istiod's CA: the Istio runs in namespace %s, where istiod finds "+
				"the self-signed root of OpenShift Service Mesh 2 (secret istio-ca-secret): workloads of both "+
				"control planes trust each other", x.ns)
		case "PrivateKey":
			x.c.rep.add(SeverityInfo, x.src(p), "istiod's CA: the Istio runs in namespace %s, where istiod finds "+
				"the cacerts secret OpenShift Service Mesh 2 used: the root of trust is kept", x.ns)
		default:
			x.fail(p.Child("istiod", "type"), "unknown signer type %q: use SelfSigned or PrivateKey", signer)
		}
		if ca == nil || ca.Istiod == nil {
			return
		}
		ip := p.Child("istiod")
		if ss := ca.Istiod.SelfSigned; ss != nil {
			sp := ip.Child("selfSigned")
			if ss.TTL != "" {
				env(sp.Child("ttl"), "CITADEL_SELF_SIGNED_CA_CERT_TTL", ss.TTL)
			}
			if ss.GracePeriod != "" {
				env(sp.Child("gracePeriod"), "CITADEL_SELF_SIGNED_ROOT_CERT_GRACE_PERIOD_PERCENTILE",
					strings.TrimSuffix(ss.GracePeriod, "%"))
			}
			if ss.CheckPeriod != "" {
				env(sp.Child("checkPeriod"), "CITADEL_SELF_SIGNED_ROOT_CERT_CHECK_INTERVAL", ss.CheckPeriod)
			}
			if ss.EnableJitter != nil {
				env(sp.Child("enableJitter"), "CITADEL_ENABLE_JITTER_FOR_ROOT_CERT_ROTATOR", boolString(*ss.EnableJitter))
			}
			if ss.Org != "" {
				x.warn(sp.Child("org"), "the organisation of the self-signed root cannot be set upstream: not "+
					"carried over")
			}
		}
		if pk := ca.Istiod.PrivateKey; pk != nil && pk.RootCADir != "" {
			env(ip.Child("privateKey", "rootCADir"), "ROOT_CA_DIR", pk.RootCADir)
		}
		if ca.Istiod.WorkloadCertTTLDefault != "" {
			env(ip.Child("workloadCertTTLDefault"), "DEFAULT_WORKLOAD_CERT_TTL", ca.Istiod.WorkloadCertTTLDefault)
		}
		if ca.Istiod.WorkloadCertTTLMax != "" {
			env(ip.Child("workloadCertTTLMax"), "MAX_WORKLOAD_CERT_TTL", ca.Istiod.WorkloadCertTTLMax)
		}
	case "Custom":
		if ca.Custom == nil || ca.Custom.Address == "" {
			x.fail(p.Child("custom", "address"), "certificate authority type Custom needs custom.address")
			return
		}
		x.carry(p.Child("custom", "address"), vpath("global.caAddress"), ca.Custom.Address)
	case "cert-manager":
		cm := ca.CertManager
		if cm == nil || cm.Address == "" {
			x.fail(p.Child("cert-manager", "address"), "certificate authority type cert-manager needs "+
				"cert-manager.address (the istio-csr service, e.g. cert-manager-istio-csr.cert-manager.svc:443)")
			return
		}
		cmp := p.Child("cert-manager")
		x.carry(cmp.Child("address"), vpath("global.caAddress"), cm.Address)
		x.carry(p.Child("type"), Path{"pilot", "env", "ENABLE_CA_SERVER"}, "false")
		x.warn(cmp, "istio-csr must also issue the serving certificate of the new istiod: add revision %s to "+
			"istio-csr's app.istio.revisions and check that its certificate names cover istiod-%s.%s.svc",
			x.name, x.name, x.ns)
		if cm.PilotSecretName != "" && cm.PilotSecretName != "istiod-tls" {
			x.warn(cmp.Child("pilotSecretName"), "not carried over: upstream istiod reads its serving certificate "+
				"from the secret istiod-tls; configure istio-csr to write it there")
		}
		if cm.RootCAConfigMapName != "" && cm.RootCAConfigMapName != "istio-ca-root-cert" {
			x.warn(cmp.Child("rootCAConfigMapName"), "not carried over: upstream proxies read the root certificate "+
				"from the ConfigMap istio-ca-root-cert; configure istio-csr to write it there")
		}
	default:
		x.fail(p.Child("type"), "unknown certificate authority type %q: use Istiod, Custom or cert-manager", typ)
	}
}

func (x *cpConv) identity(p Path, sec *securityConfig) {
	typ := "Kubernetes"
	if sec.Identity != nil && sec.Identity.Type != "" {
		typ = sec.Identity.Type
	}
	switch typ {
	case "Kubernetes":
		at := x.unset(p.Child("type"))
		if sec.Identity != nil && sec.Identity.Type != "" {
			at = x.src(p.Child("type"))
		}
		x.c.rep.add(SeverityWarning, at, "identity type Kubernetes (first-party service account tokens) no longer "+
			"exists upstream: proxies use projected third-party tokens with audience istio-ca, which OpenShift "+
			"supports; nothing to do unless a CA or an external service checked the token type")
	case "ThirdParty":
		tp := sec.Identity.ThirdParty
		if tp == nil {
			return
		}
		if tp.Audience != "" {
			x.carry(p.Child("thirdParty", "audience"), vpath("global.sds.token"), map[string]any{"aud": tp.Audience})
		}
		if tp.Issuer != "" {
			x.warn(p.Child("thirdParty", "issuer"), "the token issuer is read from the token upstream: not "+
				"carried over")
		}
		if tp.TokenPath != "" {
			x.warn(p.Child("thirdParty", "tokenPath"), "the token path is fixed upstream: not carried over")
		}
	default:
		x.fail(p.Child("type"), "unknown identity type %q: use Kubernetes or ThirdParty", typ)
	}
}

func (x *cpConv) dataPlaneMTLS(p Path, sec *securityConfig) {
	dp := sec.DataPlane
	if dp != nil && dp.AutoMTLS != nil {
		x.carry(p.Child("automtls"), vpath("meshConfig.enableAutoMtls"), *dp.AutoMTLS)
		if !*dp.AutoMTLS {
			x.warn(p.Child("automtls"), "with auto mTLS off, clients use mTLS only where a DestinationRule says "+
				"ISTIO_MUTUAL; OpenShift Service Mesh 2 created such DestinationRules, upstream does not: create "+
				"them, or turn auto mTLS on")
		}
	}
	if dp == nil || dp.MTLS == nil || !*dp.MTLS {
		x.c.rep.add(SeverityInfo, x.unset(p.Child("mtls")), "data plane mTLS was not enforced (PERMISSIVE), "+
			"which is also the upstream default: no PeerAuthentication is generated")
		return
	}
	pa := newObject("security.istio.io/v1", "PeerAuthentication", x.ns, MeshMTLSPolicyName)
	pa.Object["spec"] = map[string]any{"mtls": map[string]any{"mode": "STRICT"}}
	ref := ObjectRef{APIVersion: pa.GetAPIVersion(), Kind: pa.GetKind(), Namespace: x.ns, Name: MeshMTLSPolicyName}
	x.record(x.src(p.Child("mtls")), Target{ObjectRef: ref, Path: "spec.mtls.mode"}, "mesh-wide, in the root "+
		"namespace "+x.ns)
	x.policies = append(x.policies, Object{Unstructured: pa, Comment: "Mesh-wide strict mTLS, which OpenShift " +
		"Service Mesh 2 enforced with the PeerAuthentication default (owned by the ServiceMeshControlPlane and " +
		"deleted with it). The Istio control plane reads it from its root namespace " + x.ns + "."})
	x.note(p.Child("mtls"), "PeerAuthentication %s/%s (STRICT) replaces OpenShift Service Mesh 2's %s/default, "+
		"which is deleted with the ServiceMeshControlPlane; while both exist the older one applies, with the same "+
		"effect. The DestinationRules OpenShift Service Mesh 2 created are not needed: auto mTLS picks mTLS",
		x.ns, MeshMTLSPolicyName, x.ns)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
