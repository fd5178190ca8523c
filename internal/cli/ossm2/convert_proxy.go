package ossm2

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

func (x *cpConv) proxy() {
	px := x.spec.Proxy
	if px == nil {
		px = &proxyConfig{}
	}
	p := Path{"proxy"}
	if l := px.Logging; l != nil {
		if l.Level != "" {
			x.carry(p.Child("logging", "level"), vpath("global.proxy.logLevel"), l.Level)
		}
		if len(l.ComponentLevels) > 0 {
			x.carry(p.Child("logging", "componentLevels"), vpath("global.proxy.componentLogLevel"),
				sortedLabelString(l.ComponentLevels))
		}
	}
	if px.AdminPort != nil {
		x.carry(p.Child("adminPort"), vpath("meshConfig.defaultConfig.proxyAdminPort"), *px.AdminPort)
	}
	if px.Concurrency != nil {
		x.carry(p.Child("concurrency"), vpath("meshConfig.defaultConfig.concurrency"), *px.Concurrency)
	}
	x.proxyNetworking(p.Child("networking"), px.Networking)
	x.proxyInjection(p.Child("injection"), px.Injection)
	x.proxyRuntime(p.Child("runtime"), px.Runtime)
	if al := px.AccessLogging; al != nil {
		if f := al.File; f != nil {
			fp := p.Child("accessLogging", "file")
			if f.Name != "" {
				x.carry(fp.Child("name"), vpath("meshConfig.accessLogFile"), f.Name)
			}
			if f.Encoding != "" {
				x.carry(fp.Child("encoding"), vpath("meshConfig.accessLogEncoding"), strings.ToUpper(f.Encoding))
			}
			if f.Format != "" {
				x.carry(fp.Child("format"), vpath("meshConfig.accessLogFormat"), f.Format)
			}
		}
		if es := al.EnvoyService; es != nil {
			ep := p.Child("accessLogging", "envoyService")
			if es.Enabled != nil {
				x.carry(ep.Child("enabled"), vpath("meshConfig.enableEnvoyAccessLogService"), *es.Enabled)
			}
			if es.Enabled == nil || *es.Enabled {
				if svc := x.remoteService(ep, es); svc != nil {
					x.carry(ep, vpath("meshConfig.defaultConfig.envoyAccessLogService"), svc)
				}
			}
		}
	}
	if ms := px.EnvoyMetricsService; ms != nil && (ms.Enabled == nil || *ms.Enabled) {
		mp := p.Child("envoyMetricsService")
		if svc := x.remoteService(mp, ms); svc != nil {
			x.carry(mp, vpath("meshConfig.defaultConfig.envoyMetricsService"), svc)
		}
	}
}

// remoteService converts an Envoy service setting to a mesh RemoteService; nil when it has no address.
func (x *cpConv) remoteService(at Path, s *envoyServiceConf) map[string]any {
	if s.Address == "" {
		x.warn(at.Child("address"), "the service is enabled but has no address: not carried over")
		return nil
	}
	out := map[string]any{"address": s.Address}
	if k := s.TCPKeepalive; k != nil {
		ka := map[string]any{}
		if k.Probes != nil {
			ka["probes"] = *k.Probes
		}
		if k.Time != "" {
			if d, ok := x.duration(at.Child("tcpKeepalive", "time"), k.Time); ok {
				ka["time"] = d
			}
		}
		if k.Interval != "" {
			if d, ok := x.duration(at.Child("tcpKeepalive", "interval"), k.Interval); ok {
				ka["interval"] = d
			}
		}
		out["tcpKeepalive"] = ka
	}
	if t := s.TLSSettings; t != nil {
		tls := map[string]any{}
		for k, v := range map[string]string{"mode": t.Mode, "clientCertificate": t.ClientCertificate,
			"privateKey": t.PrivateKey, "caCertificates": t.CACertificates, "sni": t.SNIHost} {
			if v != "" {
				tls[k] = v
			}
		}
		if len(t.SubjectAltNames) > 0 {
			tls["subjectAltNames"] = t.SubjectAltNames
		}
		out["tlsSettings"] = tls
	}
	return out
}

func (x *cpConv) proxyNetworking(p Path, n *proxyNetworking) {
	if n == nil {
		n = &proxyNetworking{}
	}
	if n.ClusterDomain != "" {
		x.carry(p.Child("clusterDomain"), vpath("global.proxy.clusterDomain"), n.ClusterDomain)
	}
	if n.ConnectionTimeout != "" {
		if d, ok := x.duration(p.Child("connectionTimeout"), n.ConnectionTimeout); ok {
			x.carry(p.Child("connectionTimeout"), vpath("meshConfig.connectTimeout"), d)
		}
	}
	if n.MaxConnectionAge != "" {
		if d, ok := x.duration(p.Child("maxConnectionAge"), n.MaxConnectionAge); ok {
			x.carry(p.Child("maxConnectionAge"), vpath("pilot.keepaliveMaxServerConnectionAge"), d)
		}
	}
	x.initialization(p.Child("initialization"), n.Initialization)
	if tc := n.TrafficControl; tc != nil {
		if in := tc.Inbound; in != nil {
			ip := p.Child("trafficControl", "inbound")
			if in.InterceptionMode != "" {
				x.carry(ip.Child("interceptionMode"), vpath("meshConfig.defaultConfig.interceptionMode"),
					in.InterceptionMode)
			}
			if len(in.IncludedPorts) > 0 {
				x.carry(ip.Child("includedPorts"), vpath("global.proxy.includeInboundPorts"),
					strings.Join(in.IncludedPorts, ","))
			}
			if len(in.ExcludedPorts) > 0 {
				x.carry(ip.Child("excludedPorts"), vpath("global.proxy.excludeInboundPorts"), joinInts(in.ExcludedPorts))
			}
		}
		if out := tc.Outbound; out != nil {
			op := p.Child("trafficControl", "outbound")
			if len(out.IncludedIPRanges) > 0 {
				x.carry(op.Child("includedIPRanges"), vpath("global.proxy.includeIPRanges"),
					strings.Join(out.IncludedIPRanges, ","))
			}
			if len(out.ExcludedIPRanges) > 0 {
				x.carry(op.Child("excludedIPRanges"), vpath("global.proxy.excludeIPRanges"),
					strings.Join(out.ExcludedIPRanges, ","))
			}
			if len(out.ExcludedPorts) > 0 {
				x.carry(op.Child("excludedPorts"), vpath("global.proxy.excludeOutboundPorts"),
					joinInts(out.ExcludedPorts))
			}
			if out.Policy != "" {
				x.carry(op.Child("policy"), vpath("meshConfig.outboundTrafficPolicy.mode"), out.Policy)
			}
		}
	}
	x.protocolDetection(p.Child("protocol", "autoDetect"), n.Protocol)
	if dns := n.DNS; dns != nil {
		if len(dns.SearchSuffixes) > 0 {
			x.carry(p.Child("dns", "searchSuffixes"), vpath("global.podDNSSearchNamespaces"), dns.SearchSuffixes)
		}
		if dns.RefreshRate != "" {
			if d, ok := x.duration(p.Child("dns", "refreshRate"), dns.RefreshRate); ok {
				x.carry(p.Child("dns", "refreshRate"), vpath("meshConfig.dnsRefreshRate"), d)
			}
		}
	}
}

func (x *cpConv) initialization(p Path, ni *networkInit) {
	typ := "CNI"
	if ni != nil && ni.Type != "" {
		typ = ni.Type
	}
	switch typ {
	case "CNI":
		x.cni = true
		x.c.cni = true
		if ni != nil && ni.Type != "" {
			x.note(p.Child("type"), "pods are set up by the Istio CNI node agent: an IstioCNI is generated")
		}
	case "InitContainer":
		if x.c.opts.Platform == PlatformOpenShift {
			x.cni = true
			x.c.cni = true
			x.warn(p.Child("type"), "init containers cannot set up pod networking under OpenShift's security "+
				"constraints upstream: pods are set up by the Istio CNI node agent instead, and an IstioCNI is "+
				"generated")
		} else {
			x.note(p.Child("type"), "pods keep being set up by an init container (istio-init)")
		}
	default:
		x.fail(p.Child("type"), "unknown initialization type %q: use CNI or InitContainer", typ)
	}
	if ni != nil && ni.InitContainer != nil && ni.InitContainer.Runtime != nil {
		x.warn(p.Child("initContainer", "runtime"), "init container settings are not carried over")
	}
}

func (x *cpConv) protocolDetection(p Path, pc *protocolConfig) {
	var timeout string
	var inbound, outbound *bool
	if pc != nil && pc.AutoDetect != nil {
		timeout, inbound, outbound = pc.AutoDetect.Timeout, pc.AutoDetect.Inbound, pc.AutoDetect.Outbound
	}
	if timeout != "" {
		if d, ok := x.duration(p.Child("timeout"), timeout); ok {
			x.carry(p.Child("timeout"), vpath("meshConfig.protocolDetectionTimeout"), d)
		}
	}
	var off []string
	explicit := false
	for _, dir := range []struct {
		name string
		v    *bool
	}{{"inbound", inbound}, {"outbound", outbound}} {
		if dir.v == nil || !*dir.v {
			off = append(off, dir.name)
			explicit = explicit || dir.v != nil
		}
	}
	if len(off) == 0 {
		return
	}
	at := x.unset(p)
	if explicit {
		at = x.src(p)
	}
	x.c.rep.add(SeverityWarning, at, "protocol detection was off for %s traffic (OpenShift Service Mesh 2's "+
		"default unless turned on); upstream Istio always detects protocols and cannot turn it off: name Service "+
		"ports (http-, grpc-, tcp-, ...) or set appProtocol so that detection is not needed", strings.Join(off, " and "))
}

func (x *cpConv) proxyInjection(p Path, inj *proxyInjection) {
	if inj == nil || inj.AutoInject == nil {
		x.carryDefault(p.Child("autoInject"), vpath("global.proxy.autoInject"), "disabled",
			"OpenShift Service Mesh 2 default: pods opt in")
	} else {
		mode := "disabled"
		if *inj.AutoInject {
			mode = "enabled"
		}
		x.carry(p.Child("autoInject"), vpath("global.proxy.autoInject"), mode)
	}
	if inj == nil || inj.AutoInject == nil || !*inj.AutoInject {
		x.c.rep.add(SeverityWarning, x.src(p.Child("autoInject")), "pods are injected only when they opt in: "+
			"upstream Istio reads the pod LABEL sidecar.istio.io/inject=\"true\"; workloads that opt in with the "+
			"annotation of the same name must use the label instead (change their pod templates)")
	}
	if inj == nil {
		return
	}
	if len(inj.AlwaysInjectSelector) > 0 {
		x.carry(p.Child("alwaysInjectSelector"), vpath("sidecarInjectorWebhook.alwaysInjectSelector"),
			jsonValue(inj.AlwaysInjectSelector))
	}
	if len(inj.NeverInjectSelector) > 0 {
		x.carry(p.Child("neverInjectSelector"), vpath("sidecarInjectorWebhook.neverInjectSelector"),
			jsonValue(inj.NeverInjectSelector))
	}
	if len(inj.InjectedAnnotations) > 0 {
		x.carry(p.Child("injectedAnnotations"), vpath("sidecarInjectorWebhook.injectedAnnotations"),
			inj.InjectedAnnotations)
	}
}

func (x *cpConv) proxyRuntime(p Path, rt *proxyRuntime) {
	if rt == nil {
		return
	}
	if r := rt.Readiness; r != nil {
		rp := p.Child("readiness")
		if r.RewriteApplicationProbes != nil {
			x.carry(rp.Child("rewriteApplicationProbes"), vpath("sidecarInjectorWebhook.rewriteAppHTTPProbe"),
				*r.RewriteApplicationProbes)
		}
		for _, f := range []struct {
			name, to string
			v        *int32
		}{
			{"statusPort", "global.proxy.statusPort", r.StatusPort},
			{"initialDelaySeconds", "global.proxy.readinessInitialDelaySeconds", r.InitialDelaySeconds},
			{"periodSeconds", "global.proxy.readinessPeriodSeconds", r.PeriodSeconds},
			{"failureThreshold", "global.proxy.readinessFailureThreshold", r.FailureThreshold},
		} {
			if f.v != nil {
				x.carry(rp.Child(f.name), vpath(f.to), *f.v)
			}
		}
	}
	if c := rt.Container; c != nil {
		cp := p.Child("container")
		if c.Resources != nil {
			x.carry(cp.Child("resources"), vpath("global.proxy.resources"), resourcesValue(c.Resources))
		}
		if len(c.Env) > 0 {
			for _, k := range sortedKeys(c.Env) {
				x.carry(cp.Child("env", k), Path{"meshConfig", "defaultConfig", "proxyMetadata", k}, c.Env[k])
			}
		}
		x.dropImageFields(cp, c)
	}
}

// dropImageFields warns about image settings, which Sail manages per version.
func (x *cpConv) dropImageFields(p Path, c *containerConfig) {
	for _, f := range []struct {
		name string
		set  bool
	}{{"imageRegistry", c.ImageRegistry != ""}, {"imageTag", c.ImageTag != ""}, {"imageName", c.Image != ""}} {
		if f.set {
			x.warn(p.Child(f.name), "image settings are not carried over: Sail uses the images of the Istio "+
				"version it installs (to mirror them, use an ImageDigestMirrorSet)")
		}
	}
}

// resourcesValue converts Kubernetes resource requirements to Istio's values form.
func resourcesValue(r *corev1.ResourceRequirements) map[string]any {
	out := map[string]any{}
	conv := func(l corev1.ResourceList) map[string]any {
		m := map[string]any{}
		for k, v := range l {
			m[string(k)] = v.String()
		}
		return m
	}
	if len(r.Limits) > 0 {
		out["limits"] = conv(r.Limits)
	}
	if len(r.Requests) > 0 {
		out["requests"] = conv(r.Requests)
	}
	return out
}

func joinInts(v []int32) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(int(n))
	}
	return strings.Join(s, ",")
}
