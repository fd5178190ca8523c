package convert

import (
	"fmt"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
)

// convertPolicy checks spec.policy: Mixer policy blocks the migration.
func convertPolicy(p *plane) {
	pol := p.spec.Policy
	if pol == nil {
		return
	}
	at := fieldpath.Path{"policy"}
	switch pol.Type {
	case "Mixer", "Remote":
		p.src.block(at.Child("type"), "policy type %s relies on Mixer, which was removed in OpenShift Service Mesh "+
			"2.1 and does not exist upstream: move policy checks to AuthorizationPolicy (CUSTOM action with an "+
			"extension provider for external authorization) or WasmPlugin, set policy.type to Istiod and "+
			"remove policy.mixer/policy.remote, then migrate", pol.Type)
	case "", "None", "Istiod":
		for _, s := range []struct {
			name string
			set  bool
		}{{"mixer", pol.Mixer != nil}, {"remote", pol.Remote != nil}} {
			if s.set {
				p.src.warn(at.Child(s.name), "Mixer settings are ignored (policy type is not %s) and not carried "+
					"over; remove them", s.name)
			}
		}
	default:
		p.src.fail(at.Child("type"), "unknown policy type %q: use None, Istiod, Mixer or Remote", pol.Type)
	}
}

// convertTelemetry checks spec.telemetry: Mixer telemetry blocks the migration, type None turns telemetry off.
func convertTelemetry(p *plane) {
	tel := p.spec.Telemetry
	if tel == nil {
		return
	}
	at := fieldpath.Path{"telemetry"}
	switch tel.Type {
	case "Mixer", "Remote":
		p.src.block(at.Child("type"), "telemetry type %s relies on Mixer, which was removed in OpenShift Service "+
			"Mesh 2.1 and does not exist upstream: switch to telemetry type Istiod (metrics are produced by the "+
			"proxies), remove telemetry.mixer/telemetry.remote, then migrate", tel.Type)
	case "None":
		p.istio.carry(at.Child("type"), vpath("telemetry.enabled"), false)
	case "", "Istiod":
	default:
		p.src.fail(at.Child("type"), "unknown telemetry type %q: use None, Istiod, Mixer or Remote", tel.Type)
	}
	if tel.Type != "Mixer" && tel.Type != "Remote" && (tel.Mixer != nil || tel.Remote != nil) {
		p.src.warn(at, "Mixer telemetry settings are ignored and not carried over; remove them")
	}
	if tel.Istiod != nil {
		p.src.warn(at.Child("istiod"), "telemetry filter settings are not carried over: customize metrics and "+
			"access logs with Telemetry resources")
	}
}

// convertTracing carries over spec.tracing: Jaeger (OpenShift Service Mesh 2's default without
// status.appliedSpec) becomes a Zipkin extension provider and a mesh-wide Telemetry.
func convertTracing(p *plane) {
	at := fieldpath.Path{"tracing"}
	typ := ""
	var sampling *int32
	if t := p.spec.Tracing; t != nil {
		typ, sampling = t.Type, t.Sampling
	}
	implicit := false
	if typ == "" && !p.smcp.UsesApplied() {
		typ, implicit = "Jaeger", true
	}
	switch typ {
	case "", "None":
		return
	case "Jaeger":
		jaegerTracing(p, implicit)
	case "Stackdriver":
		p.src.warn(at.Child("type"), "Stackdriver tracing is not carried over: define an extension provider (e.g. "+
			"opentelemetry, through an OpenTelemetry collector) and a Telemetry resource")
	default:
		p.src.fail(at.Child("type"), "unknown tracing type %q: use None, Jaeger or Stackdriver", typ)
		return
	}
	if sampling == nil {
		return
	}
	if *sampling < 0 || *sampling > 10000 {
		p.src.fail(at.Child("sampling"), "sampling must be between 0 and 10000 (hundredths of a percent)")
		return
	}
	p.istio.carry(at.Child("sampling"), vpath("pilot.traceSampling"), float64(*sampling)/100)
}

// jaegerTracing sends the traces to the Jaeger collector of OpenShift Service Mesh 2 through an extension
// provider and a mesh-wide Telemetry.
func jaegerTracing(p *plane, implicit bool) {
	service := fmt.Sprintf("%s-collector.%s.svc.cluster.local", jaegerName(p.spec.Addons), p.ns)
	providerName := "jaeger"
	for _, prov := range p.istio.providers {
		if prov.Name == providerName {
			providerName = "jaeger-ossm2"
		}
	}
	port := uint32(9411)
	p.istio.addProvider(nil, sailv1.MeshConfigExtensionProvider{
		Name:   providerName,
		Zipkin: &sailv1.MeshConfigExtensionProviderZipkinTracingProvider{Service: service, Port: &port},
	})
	tel := resource.New("telemetry.istio.io/v1", "Telemetry", p.ns, MeshTelemetryName)
	tel.Object["spec"] = map[string]any{"tracing": []any{map[string]any{
		"providers": []any{map[string]any{"name": providerName}},
	}}}
	typePath := fieldpath.Path{"tracing", "type"}
	from, note := p.src.at(typePath), ""
	if implicit {
		from, note = p.src.unset(typePath), "OpenShift Service Mesh 2 default: Jaeger"
	}
	p.istio.record(from, p.istio.lastProviderPath(), note)
	p.rep.Carry(from, report.Target{Ref: resource.Object{Unstructured: tel}.Ref(), Path: "spec.tracing"}, note)
	p.policies = append(p.policies, resource.Object{Unstructured: tel, Comment: "Sends traces of the whole mesh " +
		"to the extension provider " + providerName + ", as OpenShift Service Mesh 2 did with Jaeger."})
	p.rep.Add(report.SeverityWarning, from, "Jaeger is not installed by Sail and OpenShift Service Mesh 2's Jaeger "+
		"is deleted with the ServiceMeshControlPlane: install a tracing backend (e.g. Tempo, or the Red Hat build "+
		"of OpenTelemetry) and point the extension provider %s (now %s:9411, Zipkin protocol) at it",
		providerName, service)
}

// jaegerName is the name of the Jaeger add-on: addons.jaeger.name, by default jaeger.
func jaegerName(a *input.AddonsConfig) string {
	if a != nil && a.Jaeger != nil {
		if n, ok := a.Jaeger["name"].(string); ok && n != "" {
			return n
		}
	}
	return "jaeger"
}

// addonAdvice says what to do about an add-on that Sail does not install.
type addonAdvice struct {
	name string
	cfg  map[string]any
	msg  string
}

// convertAddons reports the add-ons, which Sail does not install, and blocks on the 3scale adapter.
func convertAddons(p *plane) {
	a := p.spec.Addons
	if a == nil {
		a = &input.AddonsConfig{}
	}
	at := fieldpath.Path{"addons"}
	reportAddon(p, addonAdvice{"prometheus", a.Prometheus, "Prometheus is not installed by Sail: scrape the mesh " +
		"with OpenShift user workload monitoring (a ServiceMonitor for istiod and a PodMonitor for the proxies); " +
		"the Prometheus of OpenShift Service Mesh 2 is deleted with the ServiceMeshControlPlane"})
	if scrape, ok := a.Prometheus["scrape"].(bool); ok {
		p.istio.carry(at.Child("prometheus", "scrape"), vpath("meshConfig.enablePrometheusMerge"), scrape)
	}
	reportAddon(p, addonAdvice{"kiali", a.Kiali, "Kiali is not installed by Sail: install it with the Kiali " +
		"operator and point it at the new control plane"})
	reportAddon(p, addonAdvice{"grafana", a.Grafana, "Grafana is not installed by Sail: use the OpenShift " +
		"console's dashboards, or install Grafana yourself"})
	if a.Stackdriver != nil {
		p.src.warn(at.Child("stackdriver"), "Stackdriver settings are not carried over: use Telemetry resources "+
			"with extension providers")
	}
	if on, _ := a.ThreeScale["enabled"].(bool); on {
		p.src.block(at.Child("3scale"), "the 3scale Istio adapter relies on Mixer, which does not exist upstream: "+
			"switch to the 3scale WebAssembly module (a WasmPlugin), disable addons.3scale, then migrate")
	}
}

// reportAddon warns about an add-on that is on: enabled, or on by OpenShift Service Mesh 2's default profile when
// there is no status.appliedSpec to say otherwise.
func reportAddon(p *plane, a addonAdvice) {
	at := fieldpath.Path{"addons", a.name}
	enabled, set := a.cfg["enabled"].(bool)
	switch {
	case set && enabled:
		p.rep.Add(report.SeverityWarning, p.src.at(at), "%s", a.msg)
	case !set && !p.smcp.UsesApplied():
		p.rep.Add(report.SeverityWarning, p.src.unset(at), "enabled by OpenShift Service Mesh 2's default profile: %s",
			a.msg)
	}
}
