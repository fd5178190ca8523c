package convert

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
)

// gatewayNameSuffix is appended to the names of a converted gateway's Deployment, ServiceAccount, Role and
// RoleBinding, so that they do not collide with those OpenShift Service Mesh 2 manages while both exist. Its
// Service keeps the gateway's name, so that clients, DNS names and Routes keep working.
const gatewayNameSuffix = "-sail"

// gatewayUnit is one gateway of the ServiceMeshControlPlane to convert.
type gatewayUnit struct {
	name      string
	istio     string // default value of the istio label
	path      fieldpath.Path
	cfg       *input.GatewayConfig
	ingress   *input.IngressGateway
	egress    *input.EgressGateway
	isIngress bool
}

// labels are the labels of the gateway's Service and Deployment: app and istio, and those of the Service's
// metadata.
func (u gatewayUnit) labels() map[string]string {
	labels := map[string]string{"app": u.name, "istio": u.istio}
	if s := u.cfg.Service; s != nil && s.Metadata != nil {
		maps.Copy(labels, s.Metadata.Labels)
	}
	return labels
}

// routeConfig is the gateway's own switch for OpenShift Routes, nil when it has none.
func (u gatewayUnit) routeConfig() *input.Enablement {
	if u.ingress != nil && u.ingress.RouteConfig != nil && u.ingress.RouteConfig.Enabled != nil {
		return u.ingress.RouteConfig
	}
	return nil
}

// convertGateways converts each enabled gateway of spec.gateways into objects injected by the Istio, and
// generates the OpenShift Routes that IOR created for the ingress gateways.
func convertGateways(p *plane, istioGateways []*input.Gateway) {
	g := p.spec.Gateways
	if g == nil || g.Off() {
		return
	}
	ior := g.OpenShiftRoute.On()
	for _, u := range gatewayUnits(g) {
		if u.cfg.Off() {
			continue
		}
		svc := convertGateway(p, u)
		routes := ior
		if rc := u.routeConfig(); rc != nil {
			routes = *rc.Enabled
		}
		if routes && u.isIngress {
			gatewayRoutes(p, u, svc, istioGateways)
		}
	}
}

// gatewayUnits lists the gateways of spec.gateways: the cluster ingress and egress gateways, then the additional
// ones by name.
func gatewayUnits(g *input.GatewaysConfig) []gatewayUnit {
	p := fieldpath.Path{"gateways"}
	var units []gatewayUnit
	if ig := g.ClusterIngress; ig != nil {
		units = append(units, ingressUnit("istio-ingressgateway", "ingressgateway", p.Child("ingress"), ig))
	}
	if eg := g.ClusterEgress; eg != nil {
		units = append(units, egressUnit("istio-egressgateway", "egressgateway", p.Child("egress"), eg))
	}
	for _, name := range slices.Sorted(maps.Keys(g.IngressGateways)) {
		if ig := g.IngressGateways[name]; ig != nil {
			units = append(units, ingressUnit(name, name, p.Child("additionalIngress", name), ig))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(g.EgressGateways)) {
		if eg := g.EgressGateways[name]; eg != nil {
			units = append(units, egressUnit(name, name, p.Child("additionalEgress", name), eg))
		}
	}
	return units
}

func ingressUnit(name, istio string, at fieldpath.Path, ig *input.IngressGateway) gatewayUnit {
	return gatewayUnit{name: name, istio: istio, path: at, cfg: &ig.GatewayConfig, ingress: ig, isIngress: true}
}

func egressUnit(name, istio string, at fieldpath.Path, eg *input.EgressGateway) gatewayUnit {
	return gatewayUnit{name: name, istio: istio, path: at, cfg: &eg.GatewayConfig, egress: eg}
}

// defaultGatewayPorts are the Service ports OpenShift Service Mesh 2 gave its gateways.
func defaultGatewayPorts(ingress bool) []corev1.ServicePort {
	port := func(name string, p, target int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: p, Protocol: corev1.ProtocolTCP,
			TargetPort: intstr.FromInt32(target)}
	}
	if ingress {
		return []corev1.ServicePort{port("status-port", 15021, 15021), port("http2", 80, 8080),
			port("https", 443, 8443)}
	}
	return []corev1.ServicePort{port("http2", 80, 8080), port("https", 443, 8443), port("tls", 15443, 15443)}
}

func portList(ports []corev1.ServicePort) string {
	var s []string
	for _, p := range ports {
		s = append(s, fmt.Sprintf("%s %d", p.Name, p.Port))
	}
	return strings.Join(s, ", ")
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
