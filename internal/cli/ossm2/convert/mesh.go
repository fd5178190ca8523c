package convert

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/strict"
)

// convertGeneral carries over spec.general: istiod's logging and analysis.
func convertGeneral(p *plane) {
	g := p.spec.General
	if g == nil {
		return
	}
	if l := g.Logging; l != nil {
		p.istio.carryString(fieldpath.Path{"general", "logging", "componentLevels"}, vpath("global.logging.level"),
			sortedLabelString(l.ComponentLevels))
		if l.LogAsJSON != nil {
			p.istio.carry(fieldpath.Path{"general", "logging", "logAsJSON"}, vpath("global.logAsJson"), *l.LogAsJSON)
		}
	}
	if g.ValidationMessages != nil {
		p.istio.carry(fieldpath.Path{"general", "validationMessages"}, vpath("global.istiod.enableAnalysis"),
			*g.ValidationMessages)
	}
}

// convertMeshConfig carries over the extension providers (spec.extensionProviders and
// spec.meshConfig.extensionProviders) and, in ClusterWide mode, the discovery selectors.
func convertMeshConfig(p *plane) {
	for i, prov := range p.spec.ExtensionProviders {
		p.istio.addProvider(fieldpath.Path{"extensionProviders"}.Index(i), prov)
	}
	mc := p.spec.MeshConfig
	if mc == nil {
		return
	}
	for i, prov := range mc.ExtensionProviders {
		p.istio.addProvider(fieldpath.Path{"meshConfig", "extensionProviders"}.Index(i), prov)
	}
	if len(mc.DiscoverySelectors) == 0 {
		return
	}
	at := fieldpath.Path{"meshConfig", "discoverySelectors"}
	if !p.clusterWide {
		p.src.warn(at, "discoverySelectors are ignored by OpenShift Service Mesh 2 in MultiTenant mode and are not "+
			"carried over; the Istio selects the member namespaces by the %s label instead", DiscoveryLabel)
		return
	}
	p.istio.discovery = append(p.istio.discovery, mc.DiscoverySelectors...)
	p.istio.record(p.src.at(at), "spec.values.meshConfig.discoverySelectors", "")
}

// convertCluster carries over spec.cluster: cluster name, network and the legacy multi-cluster meshNetworks.
func convertCluster(p *plane) {
	cl := p.spec.Cluster
	if cl == nil {
		return
	}
	at := fieldpath.Path{"cluster"}
	p.istio.carryString(at.Child("name"), vpath("global.multiCluster.clusterName"), cl.Name)
	p.istio.carryString(at.Child("network"), vpath("global.network"), cl.Network)
	if mc := cl.MultiCluster; mc != nil {
		if mc.On() {
			p.src.warn(at.Child("multiCluster", "enabled"), "OpenShift Service Mesh 2 multi-cluster uses the legacy "+
				"model (meshNetworks, .global names); set up upstream multi-cluster instead (multi-primary or "+
				"primary-remote: remote secrets and an east-west gateway), and check the meshNetworks carried over")
		}
		if len(mc.MeshNetworks) > 0 {
			p.istio.carry(at.Child("multiCluster", "meshNetworks"), vpath("global.meshNetworks"),
				meshNetworks(mc.MeshNetworks))
		}
	}
	if on, _ := cl.MeshExpansion["enabled"].(bool); on {
		p.src.warn(at.Child("meshExpansion"), "mesh expansion is not carried over: register virtual machines with "+
			"WorkloadGroup and WorkloadEntry resources and expose istiod through an east-west gateway")
	}
}

// meshNetworks converts meshNetworks to Istio's values form.
func meshNetworks(in map[string]input.MeshNetwork) map[string]any {
	networks := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(in)) {
		n := in[name]
		net := map[string]any{}
		if eps := networkEndpoints(n.Endpoints); eps != nil {
			net["endpoints"] = eps
		}
		if gws := networkGateways(n.Gateways); gws != nil {
			net["gateways"] = gws
		}
		networks[name] = net
	}
	return networks
}

func networkEndpoints(in []input.MeshNetworkEndpoint) []any {
	var eps []any
	for _, e := range in {
		ep := map[string]any{}
		if e.FromCIDR != "" {
			ep["fromCidr"] = e.FromCIDR
		}
		if e.FromRegistry != "" {
			ep["fromRegistry"] = e.FromRegistry
		}
		eps = append(eps, ep)
	}
	return eps
}

func networkGateways(in []input.MeshNetworkGateway) []any {
	var gws []any
	for _, g := range in {
		gw := map[string]any{}
		if g.Service != "" {
			gw["registryServiceName"] = g.Service
		}
		if g.Address != "" {
			gw["address"] = g.Address
		}
		if g.Port != nil {
			gw["port"] = *g.Port
		}
		gws = append(gws, gw)
	}
	return gws
}

// techPreviewAdvice are the spec.techPreview keys that are not Helm values, with what to do instead (nothing for
// an empty advice).
var techPreviewAdvice = map[string]string{
	"gatewayAPI": "Gateway API support is built into upstream Istio: install the Gateway API CRDs and use " +
		"GatewayClass istio; nothing to carry over",
	"rateLimiting": "the OpenShift Service Mesh rate limiting service is not part of upstream Istio: run a " +
		"rate limit service and configure it with EnvoyFilter, or use local rate limiting",
	"wasmExtensions":   "the ServiceMeshExtension cacher is not part of upstream Istio: use WasmPlugin resources",
	"controlPlaneMode": "",
}

// convertTechPreview copies the raw Helm values of spec.techPreview that Istio's values schema knows, last, so
// that they win as they did in OpenShift Service Mesh 2.
func convertTechPreview(p *plane) {
	tp := p.spec.TechPreview
	base := fieldpath.Path{"techPreview"}
	for _, k := range slices.Sorted(maps.Keys(tp)) {
		if advice, ok := techPreviewAdvice[k]; ok {
			if advice != "" {
				p.src.warn(base.Child(k), "%s", advice)
			}
			continue
		}
		walkLeaves(tp[k], fieldpath.Path{k}, func(rel fieldpath.Path, v any) {
			techPreviewValue(p, base, rel, v)
		})
	}
}

// techPreviewValue carries over one raw Helm value at rel when Istio's values have it.
func techPreviewValue(p *plane, base, rel fieldpath.Path, v any) {
	tree := &valuesTree{root: map[string]any{}}
	tree.set(rel, v)
	problems := strict.Check(tree.root, reflect.TypeFor[sailv1.Values](), nil)
	switch {
	case len(problems) == 0:
		p.istio.carry(base.Join(rel), rel, v)
	case problems[0].Unknown:
		p.src.warn(base.Join(rel), "Istio's values have no %s: not carried over", problems[0].Path)
	default:
		p.src.warn(base.Join(rel), "does not fit Istio's values (%s: %s): not carried over", problems[0].Path,
			problems[0].Message)
	}
}

// walkLeaves calls f for every value in tree that is not a non-empty object, with its path.
func walkLeaves(tree any, at fieldpath.Path, f func(fieldpath.Path, any)) {
	m, ok := tree.(map[string]any)
	if !ok || len(m) == 0 {
		if tree != nil {
			f(at, tree)
		}
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		walkLeaves(m[k], at.Child(k), f)
	}
}

// sortedLabelString renders a map as "k:v,k:v" sorted by key.
func sortedLabelString(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + m[k]
	}
	return strings.Join(parts, ",")
}
