package ossm2

import (
	"fmt"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func (x *cpConv) policyAndTelemetry() {
	if pol := x.spec.Policy; pol != nil {
		p := Path{"policy"}
		switch pol.Type {
		case "Mixer", "Remote":
			x.block(p.Child("type"), "policy type %s relies on Mixer, which was removed in OpenShift Service Mesh "+
				"2.1 and does not exist upstream: move policy checks to AuthorizationPolicy (CUSTOM action with an "+
				"extension provider for external authorization) or WasmPlugin, set policy.type to Istiod and "+
				"remove policy.mixer/policy.remote, then migrate", pol.Type)
		case "", "None", "Istiod":
			for _, s := range []struct {
				name string
				set  bool
			}{{"mixer", pol.Mixer != nil}, {"remote", pol.Remote != nil}} {
				if s.set {
					x.warn(p.Child(s.name), "Mixer settings are ignored (policy type is not %s) and not carried "+
						"over; remove them", s.name)
				}
			}
		default:
			x.fail(p.Child("type"), "unknown policy type %q: use None, Istiod, Mixer or Remote", pol.Type)
		}
	}
	if tel := x.spec.Telemetry; tel != nil {
		p := Path{"telemetry"}
		switch tel.Type {
		case "Mixer", "Remote":
			x.block(p.Child("type"), "telemetry type %s relies on Mixer, which was removed in OpenShift Service "+
				"Mesh 2.1 and does not exist upstream: switch to telemetry type Istiod (metrics are produced by the "+
				"proxies), remove telemetry.mixer/telemetry.remote, then migrate", tel.Type)
		case "None":
			x.carry(p.Child("type"), vpath("telemetry.enabled"), false)
		case "", "Istiod":
		default:
			x.fail(p.Child("type"), "unknown telemetry type %q: use None, Istiod, Mixer or Remote", tel.Type)
		}
		if tel.Type != "Mixer" && tel.Type != "Remote" && (tel.Mixer != nil || tel.Remote != nil) {
			x.warn(p, "Mixer telemetry settings are ignored and not carried over; remove them")
		}
		if tel.Istiod != nil {
			x.warn(p.Child("istiod"), "telemetry filter settings are not carried over: customize metrics and "+
				"access logs with Telemetry resources")
		}
	}
}

func (x *cpConv) tracing() {
	p := Path{"tracing"}
	typ := ""
	var sampling *int32
	if t := x.spec.Tracing; t != nil {
		typ, sampling = t.Type, t.Sampling
	}
	implicit := false
	if typ == "" && !x.in.usesApplied() {
		typ, implicit = "Jaeger", true
	}
	switch typ {
	case "", "None":
		return
	case "Jaeger":
		jaegerName := "jaeger"
		if j := x.spec.Addons; j != nil && j.Jaeger != nil {
			if n, ok := j.Jaeger["name"].(string); ok && n != "" {
				jaegerName = n
			}
		}
		providerName := "jaeger"
		for _, prov := range x.providers {
			if prov.Name == providerName {
				providerName = "jaeger-ossm2"
			}
		}
		service := fmt.Sprintf("%s-collector.%s.svc.cluster.local", jaegerName, x.ns)
		x.addProvider(nil, sailv1.MeshConfigExtensionProvider{
			Name:   providerName,
			Zipkin: &sailv1.MeshConfigExtensionProviderZipkinTracingProvider{Service: service, Port: ptr(uint32(9411))},
		})
		tel := newObject("telemetry.istio.io/v1", "Telemetry", x.ns, MeshTelemetryName)
		tel.Object["spec"] = map[string]any{"tracing": []any{map[string]any{
			"providers": []any{map[string]any{"name": providerName}},
		}}}
		ref := ObjectRef{APIVersion: tel.GetAPIVersion(), Kind: tel.GetKind(), Namespace: x.ns, Name: MeshTelemetryName}
		from := x.src(p.Child("type"))
		note := ""
		if implicit {
			from, note = x.unset(p.Child("type")), "OpenShift Service Mesh 2 default: Jaeger"
		}
		x.record(from, Target{ObjectRef: x.istio, Path: fmt.Sprintf("spec.values.meshConfig.extensionProviders[%d]",
			len(x.providers)-1)}, note)
		x.record(from, Target{ObjectRef: ref, Path: "spec.tracing"}, note)
		x.policies = append(x.policies, Object{Unstructured: tel, Comment: "Sends traces of the whole mesh to " +
			"the extension provider " + providerName + ", as OpenShift Service Mesh 2 did with Jaeger."})
		at := from
		x.c.rep.add(SeverityWarning, at, "Jaeger is not installed by Sail and OpenShift Service Mesh 2's Jaeger is "+
			"deleted with the ServiceMeshControlPlane: install a tracing backend (e.g. Tempo, or the Red Hat build "+
			"of OpenTelemetry) and point the extension provider %s (now %s:9411, Zipkin protocol) at it",
			providerName, service)
	case "Stackdriver":
		x.warn(p.Child("type"), "Stackdriver tracing is not carried over: define an extension provider (e.g. "+
			"opentelemetry, through an OpenTelemetry collector) and a Telemetry resource")
	default:
		x.fail(p.Child("type"), "unknown tracing type %q: use None, Jaeger or Stackdriver", typ)
		return
	}
	if sampling != nil {
		if *sampling < 0 || *sampling > 10000 {
			x.fail(p.Child("sampling"), "sampling must be between 0 and 10000 (hundredths of a percent)")
			return
		}
		x.carry(p.Child("sampling"), vpath("pilot.traceSampling"), float64(*sampling)/100)
	}
}

func (x *cpConv) addons() {
	a := x.spec.Addons
	if a == nil {
		a = &addonsConfig{}
	}
	p := Path{"addons"}
	// enabled tells whether an add-on is on, and whether that is OpenShift Service Mesh 2's default.
	enabled := func(m map[string]any) (on, implicit bool) {
		if m != nil {
			if v, ok := m["enabled"].(bool); ok {
				return v, false
			}
		}
		if x.in.usesApplied() {
			return false, false
		}
		return true, true
	}
	report := func(name string, m map[string]any, sev Severity, msg string) {
		on, implicit := enabled(m)
		if !on {
			return
		}
		at := x.src(p.Child(name))
		if implicit {
			at = x.unset(p.Child(name))
			msg = "enabled by OpenShift Service Mesh 2's default profile: " + msg
		}
		x.c.rep.add(sev, at, "%s", msg)
	}
	report("prometheus", a.Prometheus, SeverityWarning, "Prometheus is not installed by Sail: scrape the mesh "+
		"with OpenShift user workload monitoring (a ServiceMonitor for istiod and a PodMonitor for the proxies); "+
		"the Prometheus of OpenShift Service Mesh 2 is deleted with the ServiceMeshControlPlane")
	if a.Prometheus != nil {
		if scrape, ok := a.Prometheus["scrape"].(bool); ok {
			x.carry(p.Child("prometheus", "scrape"), vpath("meshConfig.enablePrometheusMerge"), scrape)
		}
	}
	report("kiali", a.Kiali, SeverityWarning, "Kiali is not installed by Sail: install it with the Kiali "+
		"operator and point it at the new control plane")
	report("grafana", a.Grafana, SeverityWarning, "Grafana is not installed by Sail: use the OpenShift console's "+
		"dashboards, or install Grafana yourself")
	if a.Stackdriver != nil {
		x.warn(p.Child("stackdriver"), "Stackdriver settings are not carried over: use Telemetry resources with "+
			"extension providers")
	}
	if a.ThreeScale != nil {
		if on, _ := a.ThreeScale["enabled"].(bool); on {
			x.block(p.Child("3scale"), "the 3scale Istio adapter relies on Mixer, which does not exist upstream: "+
				"switch to the 3scale WebAssembly module (a WasmPlugin), disable addons.3scale, then migrate")
		}
	}
}
