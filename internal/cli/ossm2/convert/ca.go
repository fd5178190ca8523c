package convert

import (
	"strconv"
	"strings"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
)

// certificateAuthority carries over spec.security.certificateAuthority: istiod's own CA (the default), a custom
// CA or cert-manager (istio-csr).
func certificateAuthority(p *plane, at fieldpath.Path, ca *input.CAConfig) {
	typ := "Istiod"
	if ca != nil && ca.Type != "" {
		typ = ca.Type
	}
	switch typ {
	case "Istiod":
		var istiod *input.IstiodCA
		if ca != nil {
			istiod = ca.Istiod
		}
		istiodCA(p, at, istiod)
	case "Custom":
		if ca.Custom == nil || ca.Custom.Address == "" {
			p.src.fail(at.Child("custom", "address"), "certificate authority type Custom needs custom.address")
			return
		}
		p.istio.carry(at.Child("custom", "address"), vpath("global.caAddress"), ca.Custom.Address)
	case "cert-manager":
		certManagerCA(p, at, ca)
	default:
		p.src.fail(at.Child("type"), "unknown certificate authority type %q: use Istiod, Custom or cert-manager", typ)
	}
}

// istiodCA reports where istiod finds its CA, and carries over the CA's tuning as istiod environment variables.
func istiodCA(p *plane, at fieldpath.Path, istiod *input.IstiodCA) {
	signer := "SelfSigned"
	if istiod != nil && istiod.Type != "" {
		signer = istiod.Type
	}
	switch signer {
	case "SelfSigned":
		p.rep.Add(report.SeverityInfo, p.src.at(at), "istiod's CA: the Istio runs in namespace %s, where istiod "+
			"finds the self-signed root of OpenShift Service Mesh 2 (secret istio-ca-secret): workloads of both "+
			"control planes trust each other", p.ns)
	case "PrivateKey":
		p.rep.Add(report.SeverityInfo, p.src.at(at), "istiod's CA: the Istio runs in namespace %s, where istiod "+
			"finds the cacerts secret OpenShift Service Mesh 2 used: the root of trust is kept", p.ns)
	default:
		p.src.fail(at.Child("istiod", "type"), "unknown signer type %q: use SelfSigned or PrivateKey", signer)
	}
	if istiod == nil {
		return
	}
	ip := at.Child("istiod")
	selfSignedCA(p, ip.Child("selfSigned"), istiod)
	if pk := istiod.PrivateKey; pk != nil {
		caEnv(p, ip.Child("privateKey", "rootCADir"), "ROOT_CA_DIR", pk.RootCADir)
	}
	caEnv(p, ip.Child("workloadCertTTLDefault"), "DEFAULT_WORKLOAD_CERT_TTL", istiod.WorkloadCertTTLDefault)
	caEnv(p, ip.Child("workloadCertTTLMax"), "MAX_WORKLOAD_CERT_TTL", istiod.WorkloadCertTTLMax)
}

// selfSignedCA carries over the tuning of istiod's self-signed root (certificateAuthority.istiod.selfSigned).
func selfSignedCA(p *plane, sp fieldpath.Path, istiod *input.IstiodCA) {
	ss := istiod.SelfSigned
	if ss == nil {
		return
	}
	caEnv(p, sp.Child("ttl"), "CITADEL_SELF_SIGNED_CA_CERT_TTL", ss.TTL)
	if ss.GracePeriod != "" {
		setCAEnv(p, sp.Child("gracePeriod"), "CITADEL_SELF_SIGNED_ROOT_CERT_GRACE_PERIOD_PERCENTILE",
			strings.TrimSuffix(ss.GracePeriod, "%"))
	}
	caEnv(p, sp.Child("checkPeriod"), "CITADEL_SELF_SIGNED_ROOT_CERT_CHECK_INTERVAL", ss.CheckPeriod)
	if ss.EnableJitter != nil {
		caEnv(p, sp.Child("enableJitter"), "CITADEL_ENABLE_JITTER_FOR_ROOT_CERT_ROTATOR",
			strconv.FormatBool(*ss.EnableJitter))
	}
	if ss.Org != "" {
		p.src.warn(sp.Child("org"), "the organisation of the self-signed root cannot be set upstream: not carried "+
			"over")
	}
}

// caEnv carries over a CA setting from as istiod environment variable name, unless value is empty.
func caEnv(p *plane, from fieldpath.Path, name, value string) {
	if value != "" {
		setCAEnv(p, from, name, value)
	}
}

// setCAEnv carries over a CA setting from as istiod environment variable name, with a warning.
func setCAEnv(p *plane, from fieldpath.Path, name, value string) {
	p.istio.carry(from, fieldpath.Path{"pilot", "env", name}, value)
	p.src.warn(from, "carried over as istiod environment variable %s, an unsupported tuning knob upstream: "+
		"check that you still need it", name)
}

// certManagerCA points istiod at istio-csr, and says what istio-csr needs for the new istiod.
func certManagerCA(p *plane, at fieldpath.Path, ca *input.CAConfig) {
	cm := ca.CertManager
	if cm == nil || cm.Address == "" {
		p.src.fail(at.Child("cert-manager", "address"), "certificate authority type cert-manager needs "+
			"cert-manager.address (the istio-csr service, e.g. cert-manager-istio-csr.cert-manager.svc:443)")
		return
	}
	cmp := at.Child("cert-manager")
	p.istio.carry(cmp.Child("address"), vpath("global.caAddress"), cm.Address)
	p.istio.carry(at.Child("type"), fieldpath.Path{"pilot", "env", "ENABLE_CA_SERVER"}, "false")
	p.src.warn(cmp, "istio-csr must also issue the serving certificate of the new istiod: add revision %s to "+
		"istio-csr's app.istio.revisions and check that its certificate names cover istiod-%s.%s.svc",
		p.name, p.name, p.ns)
	if cm.PilotSecretName != "" && cm.PilotSecretName != "istiod-tls" {
		p.src.warn(cmp.Child("pilotSecretName"), "not carried over: upstream istiod reads its serving certificate "+
			"from the secret istiod-tls; configure istio-csr to write it there")
	}
	if cm.RootCAConfigMapName != "" && cm.RootCAConfigMapName != "istio-ca-root-cert" {
		p.src.warn(cmp.Child("rootCAConfigMapName"), "not carried over: upstream proxies read the root certificate "+
			"from the ConfigMap istio-ca-root-cert; configure istio-csr to write it there")
	}
}
