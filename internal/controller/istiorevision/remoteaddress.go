package istiorevision

import (
	"fmt"
	"net"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/objectid"
)

// checkRemotePilotAddress returns an error saying what to write when values.global.remotePilotAddress is set but is
// neither an IP address nor a DNS name (a port, a scheme or a path would make the chart render an invalid Service or
// EndpointSlice).
func checkRemotePilotAddress(vals *sailv1.Values) error {
	if vals == nil || vals.Global == nil || vals.Global.RemotePilotAddress == "" {
		return nil
	}
	addr := vals.Global.RemotePilotAddress
	if net.ParseIP(addr) != nil || len(validation.IsDNS1123Subdomain(addr)) == 0 {
		return nil
	}
	return fmt.Errorf("values.global.remotePilotAddress %q is neither an IP address nor a DNS name: write the "+
		"primary istiod's address alone, without port, scheme or path (it must serve istiod's ports 15012 and 15017)",
		addr)
}

// withExternalNameTargetPorts makes the admission webhooks that call a Service of type ExternalName among objs
// call its target port. The remote profile renders the istiod Service as ExternalName when
// values.global.remotePilotAddress is a DNS name (for an IP address: a Service with an EndpointSlice), with port
// 443 and target port 15017, and the webhooks call that Service on port 443. For an IP address the Service's
// ClusterIP forwards 443 to the primary's 15017; for an ExternalName Service the API server calls
// <name>:<the webhook's port> and ignores the target port, so the webhook would reach the primary on 443, where a
// gateway publishing istiod (and the IP case) has no webhook. With the webhook's port set to the target port, a DNS
// name is called on the same port as an IP address.
func withExternalNameTargetPorts(objs []*unstructured.Unstructured) {
	targets := externalNameTargetPorts(objs)
	if len(targets) == 0 {
		return
	}
	for _, u := range objs {
		if u.GetKind() != "MutatingWebhookConfiguration" && u.GetKind() != "ValidatingWebhookConfiguration" {
			continue
		}
		webhooks, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
		changed := false
		for _, w := range webhooks {
			svc, _, _ := unstructured.NestedMap(w.(map[string]any), "clientConfig", "service")
			if svc == nil {
				continue
			}
			name, _ := svc["name"].(string)
			namespace, _ := svc["namespace"].(string)
			port, ok := asInt(svc["port"])
			if !ok {
				port = 443 // the API's default
			}
			if target, ok := targets[serviceKey{namespace, name, port}]; ok {
				svc["port"] = target
				_ = unstructured.SetNestedMap(w.(map[string]any), svc, "clientConfig", "service")
				changed = true
			}
		}
		if changed {
			_ = unstructured.SetNestedSlice(u.Object, webhooks, "webhooks")
			// The renderer's content hash says what was rendered: it must cover the new port, or the applier
			// would take the object for unchanged.
			_ = objectid.SetContentHash(u)
		}
	}
}

// serviceKey names one port of a Service.
type serviceKey struct {
	namespace, name string
	port            int64
}

// externalNameTargetPorts maps each port of the ExternalName Services among objs to its numeric target port, for
// the ports whose target port differs.
func externalNameTargetPorts(objs []*unstructured.Unstructured) map[serviceKey]int64 {
	out := map[serviceKey]int64{}
	for _, u := range objs {
		if t, _, _ := unstructured.NestedString(u.Object, "spec", "type"); u.GetKind() != "Service" || t != "ExternalName" {
			continue
		}
		ports, _, _ := unstructured.NestedSlice(u.Object, "spec", "ports")
		for _, p := range ports {
			pm, _ := p.(map[string]any)
			port, _ := asInt(pm["port"])
			target, ok := asInt(pm["targetPort"])
			if ok && target != port {
				out[serviceKey{u.GetNamespace(), u.GetName(), port}] = target
			}
		}
	}
	return out
}

// asInt returns a number of an unstructured object (int64 or float64, as decoded), false when v is none (e.g. a
// named target port).
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), true
	}
	return 0, false
}
