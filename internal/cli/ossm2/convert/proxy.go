package convert

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
)

// convertProxy carries over spec.proxy: the sidecars' logging, networking, injection, runtime and access logs.
func convertProxy(p *plane) {
	px := p.spec.Proxy
	if px == nil {
		px = &input.ProxyConfig{}
	}
	at := fieldpath.Path{"proxy"}
	if l := px.Logging; l != nil {
		p.istio.carryString(at.Child("logging", "level"), vpath("global.proxy.logLevel"), l.Level)
		p.istio.carryString(at.Child("logging", "componentLevels"), vpath("global.proxy.componentLogLevel"),
			sortedLabelString(l.ComponentLevels))
	}
	if px.AdminPort != nil {
		p.istio.carry(at.Child("adminPort"), vpath("meshConfig.defaultConfig.proxyAdminPort"), *px.AdminPort)
	}
	if px.Concurrency != nil {
		p.istio.carry(at.Child("concurrency"), vpath("meshConfig.defaultConfig.concurrency"), *px.Concurrency)
	}
	proxyNetworking(p, at.Child("networking"), px.Networking)
	proxyInjection(p, at.Child("injection"), px.Injection)
	proxyRuntime(p, at.Child("runtime"), px.Runtime)
	if al := px.AccessLogging; al != nil {
		accessLogFile(p, at.Child("accessLogging", "file"), al)
		accessLogService(p, at.Child("accessLogging", "envoyService"), al.EnvoyService)
	}
	if ms := px.EnvoyMetricsService; ms != nil && (ms.Enabled == nil || *ms.Enabled) {
		mp := at.Child("envoyMetricsService")
		if svc := remoteService(p.src, mp, ms); svc != nil {
			p.istio.carry(mp, vpath("meshConfig.defaultConfig.envoyMetricsService"), svc)
		}
	}
}

// accessLogFile carries over spec.proxy.accessLogging.file.
func accessLogFile(p *plane, at fieldpath.Path, al *input.ProxyAccessLog) {
	f := al.File
	if f == nil {
		return
	}
	p.istio.carryString(at.Child("name"), vpath("meshConfig.accessLogFile"), f.Name)
	p.istio.carryString(at.Child("encoding"), vpath("meshConfig.accessLogEncoding"), strings.ToUpper(f.Encoding))
	p.istio.carryString(at.Child("format"), vpath("meshConfig.accessLogFormat"), f.Format)
}

// accessLogService carries over spec.proxy.accessLogging.envoyService.
func accessLogService(p *plane, at fieldpath.Path, es *input.EnvoyServiceConfig) {
	if es == nil {
		return
	}
	if es.Enabled != nil {
		p.istio.carry(at.Child("enabled"), vpath("meshConfig.enableEnvoyAccessLogService"), *es.Enabled)
	}
	if es.Enabled == nil || *es.Enabled {
		if svc := remoteService(p.src, at, es); svc != nil {
			p.istio.carry(at, vpath("meshConfig.defaultConfig.envoyAccessLogService"), svc)
		}
	}
}

// remoteService converts an Envoy service setting to a mesh RemoteService; nil when it has no address.
func remoteService(src *source, at fieldpath.Path, s *input.EnvoyServiceConfig) map[string]any {
	if s.Address == "" {
		src.warn(at.Child("address"), "the service is enabled but has no address: not carried over")
		return nil
	}
	out := map[string]any{"address": s.Address}
	if k := s.TCPKeepalive; k != nil {
		ka := map[string]any{}
		if k.Probes != nil {
			ka["probes"] = *k.Probes
		}
		if k.Time != "" {
			if d, ok := src.duration(at.Child("tcpKeepalive", "time"), k.Time); ok {
				ka["time"] = d
			}
		}
		if k.Interval != "" {
			if d, ok := src.duration(at.Child("tcpKeepalive", "interval"), k.Interval); ok {
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

// proxyInjection carries over spec.proxy.injection; pods opt in to injection unless autoInject is on.
func proxyInjection(p *plane, at fieldpath.Path, inj *input.ProxyInjection) {
	if inj == nil || inj.AutoInject == nil {
		p.istio.carryDefault(at.Child("autoInject"), vpath("global.proxy.autoInject"), "disabled",
			"OpenShift Service Mesh 2 default: pods opt in")
	} else {
		mode := "disabled"
		if *inj.AutoInject {
			mode = "enabled"
		}
		p.istio.carry(at.Child("autoInject"), vpath("global.proxy.autoInject"), mode)
	}
	if inj == nil || inj.AutoInject == nil || !*inj.AutoInject {
		p.rep.Add(report.SeverityWarning, p.src.at(at.Child("autoInject")), "pods are injected only when they opt "+
			"in: upstream Istio reads the pod LABEL sidecar.istio.io/inject=\"true\"; workloads that opt in with the "+
			"annotation of the same name must use the label instead (change their pod templates)")
	}
	if inj == nil {
		return
	}
	if len(inj.AlwaysInjectSelector) > 0 {
		p.istio.carry(at.Child("alwaysInjectSelector"), vpath("sidecarInjectorWebhook.alwaysInjectSelector"),
			resource.JSONValue(inj.AlwaysInjectSelector))
	}
	if len(inj.NeverInjectSelector) > 0 {
		p.istio.carry(at.Child("neverInjectSelector"), vpath("sidecarInjectorWebhook.neverInjectSelector"),
			resource.JSONValue(inj.NeverInjectSelector))
	}
	if len(inj.InjectedAnnotations) > 0 {
		p.istio.carry(at.Child("injectedAnnotations"), vpath("sidecarInjectorWebhook.injectedAnnotations"),
			inj.InjectedAnnotations)
	}
}

// proxyRuntime carries over spec.proxy.runtime: readiness probes and the sidecar container.
func proxyRuntime(p *plane, at fieldpath.Path, rt *input.ProxyRuntime) {
	if rt == nil {
		return
	}
	if r := rt.Readiness; r != nil {
		proxyReadiness(p, at.Child("readiness"), r)
	}
	if c := rt.Container; c != nil {
		carryContainer(p, at.Child("container"), c, vpath("global.proxy.resources"),
			vpath("meshConfig.defaultConfig.proxyMetadata"))
	}
}

// carryContainer carries over a container's resources to the value at resources and each of its environment
// variables to a value under env, and warns about its image settings.
func carryContainer(p *plane, at fieldpath.Path, c *input.ContainerConfig, resources, env fieldpath.Path) {
	if c.Resources != nil {
		p.istio.carry(at.Child("resources"), resources, resourcesValue(c.Resources))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		p.istio.carry(at.Child("env", k), env.Child(k), c.Env[k])
	}
	dropImageFields(p.src, at, c)
}

func proxyReadiness(p *plane, at fieldpath.Path, r *input.ProxyReadiness) {
	if r.RewriteApplicationProbes != nil {
		p.istio.carry(at.Child("rewriteApplicationProbes"), vpath("sidecarInjectorWebhook.rewriteAppHTTPProbe"),
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
			p.istio.carry(at.Child(f.name), vpath(f.to), *f.v)
		}
	}
}

// dropImageFields warns about image settings, which Sail manages per version.
func dropImageFields(src *source, at fieldpath.Path, c *input.ContainerConfig) {
	for _, f := range []struct {
		name string
		set  bool
	}{{"imageRegistry", c.ImageRegistry != ""}, {"imageTag", c.ImageTag != ""}, {"imageName", c.Image != ""}} {
		if f.set {
			src.warn(at.Child(f.name), "image settings are not carried over: Sail uses the images of the Istio "+
				"version it installs (to mirror them, use an ImageDigestMirrorSet)")
		}
	}
}

// resourcesValue converts Kubernetes resource requirements to Istio's values form.
func resourcesValue(r *corev1.ResourceRequirements) map[string]any {
	out := map[string]any{}
	if len(r.Limits) > 0 {
		out["limits"] = resourceList(r.Limits)
	}
	if len(r.Requests) > 0 {
		out["requests"] = resourceList(r.Requests)
	}
	return out
}

func resourceList(l corev1.ResourceList) map[string]any {
	m := map[string]any{}
	for k, v := range l {
		m[string(k)] = v.String()
	}
	return m
}
