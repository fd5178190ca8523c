package convert

import (
	"strconv"
	"strings"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
)

// proxyNetworking carries over spec.proxy.networking.
func proxyNetworking(p *plane, at fieldpath.Path, n *input.ProxyNetworking) {
	if n == nil {
		n = &input.ProxyNetworking{}
	}
	p.istio.carryString(at.Child("clusterDomain"), vpath("global.proxy.clusterDomain"), n.ClusterDomain)
	carryDuration(p, at.Child("connectionTimeout"), vpath("meshConfig.connectTimeout"), n.ConnectionTimeout)
	carryDuration(p, at.Child("maxConnectionAge"), vpath("pilot.keepaliveMaxServerConnectionAge"),
		n.MaxConnectionAge)
	initialization(p, at.Child("initialization"), n.Initialization)
	if tc := n.TrafficControl; tc != nil {
		inboundTraffic(p, at.Child("trafficControl", "inbound"), tc.Inbound)
		outboundTraffic(p, at.Child("trafficControl", "outbound"), tc.Outbound)
	}
	protocolDetection(p, at.Child("protocol", "autoDetect"), n.Protocol)
	if dns := n.DNS; dns != nil {
		if len(dns.SearchSuffixes) > 0 {
			p.istio.carry(at.Child("dns", "searchSuffixes"), vpath("global.podDNSSearchNamespaces"),
				dns.SearchSuffixes)
		}
		carryDuration(p, at.Child("dns", "refreshRate"), vpath("meshConfig.dnsRefreshRate"), dns.RefreshRate)
	}
}

// carryDuration carries over the duration v from the input field from, unless it is empty or not a duration.
func carryDuration(p *plane, from, to fieldpath.Path, v string) {
	if v == "" {
		return
	}
	if d, ok := p.src.duration(from, v); ok {
		p.istio.carry(from, to, d)
	}
}

func inboundTraffic(p *plane, at fieldpath.Path, in *input.InboundTraffic) {
	if in == nil {
		return
	}
	p.istio.carryString(at.Child("interceptionMode"), vpath("meshConfig.defaultConfig.interceptionMode"),
		in.InterceptionMode)
	p.istio.carryJoined(at.Child("includedPorts"), vpath("global.proxy.includeInboundPorts"), in.IncludedPorts)
	p.istio.carryString(at.Child("excludedPorts"), vpath("global.proxy.excludeInboundPorts"),
		joinInts(in.ExcludedPorts))
}

func outboundTraffic(p *plane, at fieldpath.Path, out *input.OutboundTraffic) {
	if out == nil {
		return
	}
	p.istio.carryJoined(at.Child("includedIPRanges"), vpath("global.proxy.includeIPRanges"), out.IncludedIPRanges)
	p.istio.carryJoined(at.Child("excludedIPRanges"), vpath("global.proxy.excludeIPRanges"), out.ExcludedIPRanges)
	p.istio.carryString(at.Child("excludedPorts"), vpath("global.proxy.excludeOutboundPorts"),
		joinInts(out.ExcludedPorts))
	p.istio.carryString(at.Child("policy"), vpath("meshConfig.outboundTrafficPolicy.mode"), out.Policy)
}

// initialization reads how pod networking is set up (CNI by default); CNI needs an IstioCNI.
func initialization(p *plane, at fieldpath.Path, ni *input.NetworkInit) {
	typ := "CNI"
	if ni != nil && ni.Type != "" {
		typ = ni.Type
	}
	switch typ {
	case "CNI":
		p.cni = true
		if ni != nil && ni.Type != "" {
			p.src.note(at.Child("type"), "pods are set up by the Istio CNI node agent: an IstioCNI is generated")
		}
	case "InitContainer":
		if p.opts.Platform == PlatformOpenShift {
			p.cni = true
			p.src.warn(at.Child("type"), "init containers cannot set up pod networking under OpenShift's security "+
				"constraints upstream: pods are set up by the Istio CNI node agent instead, and an IstioCNI is "+
				"generated")
		} else {
			p.src.note(at.Child("type"), "pods keep being set up by an init container (istio-init)")
		}
	default:
		p.src.fail(at.Child("type"), "unknown initialization type %q: use CNI or InitContainer", typ)
	}
	if ni != nil && ni.InitContainer != nil && ni.InitContainer.Runtime != nil {
		p.src.warn(at.Child("initContainer", "runtime"), "init container settings are not carried over")
	}
}

// protocolDetection carries over the detection timeout, and warns when detection was off, which upstream cannot
// do.
func protocolDetection(p *plane, at fieldpath.Path, pc *input.ProtocolConfig) {
	var timeout string
	var inbound, outbound *bool
	if pc != nil && pc.AutoDetect != nil {
		timeout, inbound, outbound = pc.AutoDetect.Timeout, pc.AutoDetect.Inbound, pc.AutoDetect.Outbound
	}
	carryDuration(p, at.Child("timeout"), vpath("meshConfig.protocolDetectionTimeout"), timeout)
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
	p.rep.Add(report.SeverityWarning, p.src.atOrUnset(at, explicit), "protocol detection was off for %s traffic "+
		"(OpenShift Service Mesh 2's default unless turned on); upstream Istio always detects protocols and cannot "+
		"turn it off: name Service ports (http-, grpc-, tcp-, ...) or set appProtocol so that detection is not "+
		"needed", strings.Join(off, " and "))
}

func joinInts(v []int32) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(int(n))
	}
	return strings.Join(s, ",")
}
