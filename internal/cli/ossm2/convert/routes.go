package convert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
)

// gatewayRoutes generates the OpenShift Routes that IOR created for the hosts of the Istio Gateways using
// gateway u, whose Service is svc.
func gatewayRoutes(p *plane, u gatewayUnit, svc *corev1.Service, gateways []*input.Gateway) {
	at := fieldpath.Path{"gateways", "openshiftRoute", "enabled"}
	if u.routeConfig() != nil {
		at = u.path.Child("routeConfig", "enabled")
	}
	labels := u.labels()
	count := 0
	for _, gw := range gateways {
		if len(gw.Spec.Selector) == 0 || !selectorMatches(gw.Spec.Selector, labels) {
			continue
		}
		for si, server := range gw.Spec.Servers {
			for _, host := range server.Hosts {
				if hostRoute(p, u, svc, gw, si, host) {
					count++
				}
			}
		}
	}
	if count == 0 {
		p.src.warn(at, "OpenShift Service Mesh 2 created Routes for the hosts of the Istio Gateways that use gateway "+
			"%s (IOR), and deletes them with the ServiceMeshControlPlane; none of those Gateways is in the input. "+
			"Add them (oc get gateways.networking.istio.io -A -o yaml) to generate the Routes, or create Routes "+
			"yourself", u.name)
		return
	}
	p.src.note(at, "%d Route(s) generated for gateway %s; while the Routes of IOR exist, the router keeps serving "+
		"each host with the older Route", count, u.name)
}

// hostRoute generates the Route of one host of server si of Istio Gateway gw, and tells whether it did: host *
// cannot be routed.
func hostRoute(p *plane, u gatewayUnit, svc *corev1.Service, gw *input.Gateway, si int, host string) bool {
	server := gw.Spec.Servers[si]
	serverPath := fieldpath.Path{"spec", "servers"}.Index(si)
	if i := strings.Index(host, "/"); i >= 0 {
		host = host[i+1:]
	}
	wildcard := ""
	switch {
	case host == "*" || host == "":
		p.rep.Add(report.SeverityWarning, gw.Doc.At(serverPath), "host * cannot be exposed by an OpenShift Route: "+
			"create one for each host clients use")
		return false
	case strings.HasPrefix(host, "*."):
		host, wildcard = "wildcard."+host[2:], "Subdomain"
	}
	route := resource.New("route.openshift.io/v1", "Route", svc.Namespace, routeName(gw, host))
	route.SetLabels(map[string]string{"app": u.name, "sailoperator.io/gateway-namespace": gw.Meta.Namespace,
		"sailoperator.io/gateway-name": gw.Meta.Name})
	spec := map[string]any{"host": host, "to": map[string]any{"kind": "Service", "name": svc.Name,
		"weight": int32(100)}}
	if wildcard != "" {
		spec["wildcardPolicy"] = wildcard
	}
	if target, ok := routeTargetPort(svc, server.Port.Number); ok {
		spec["port"] = map[string]any{"targetPort": target}
	}
	if server.TLS != nil {
		spec["tls"] = map[string]any{"termination": "passthrough"}
	}
	route.Object["spec"] = spec
	obj := resource.Object{Unstructured: route, Comment: fmt.Sprintf("Route for host %s of Gateway %s/%s, which "+
		"OpenShift Service Mesh 2 created automatically (IOR)", host, gw.Meta.Namespace, gw.Meta.Name)}
	p.gateways = append(p.gateways, obj)
	p.rep.Carry(gw.Doc.At(serverPath.Child("hosts")), report.Target{Ref: obj.Ref(), Path: "spec.host"}, "IOR")
	return true
}

// routeName names the Route of a host of an Istio Gateway: <gateway namespace>-<gateway name>-<hash of the host>,
// at most 63 characters.
func routeName(gw *input.Gateway, host string) string {
	sum := sha256.Sum256([]byte(host))
	hash := hex.EncodeToString(sum[:])[:10]
	name := fmt.Sprintf("%s-%s-%s", gw.Meta.Namespace, gw.Meta.Name, hash)
	if len(name) > 63 {
		name = name[:52] + "-" + hash
	}
	return name
}

// routeTargetPort is the Service port (its name, else its target port) that serves the Gateway server's port;
// the last one when several do.
func routeTargetPort(svc *corev1.Service, port uint32) (string, bool) {
	target, found := "", false
	for _, sp := range svc.Spec.Ports {
		if uint32(sp.Port) == port {
			target, found = sp.Name, true
			if target == "" {
				target = sp.TargetPort.String()
			}
		}
	}
	return target, found
}

func selectorMatches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
