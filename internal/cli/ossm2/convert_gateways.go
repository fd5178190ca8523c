package ossm2

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// gatewayNameSuffix is appended to the names of a converted gateway's Deployment, ServiceAccount, Role and
// RoleBinding, so that they do not collide with those OpenShift Service Mesh 2 manages while both exist. Its
// Service keeps the gateway's name, so that clients, DNS names and Routes keep working.
const gatewayNameSuffix = "-sail"

// gatewayUnit is one gateway of the ServiceMeshControlPlane to convert.
type gatewayUnit struct {
	name      string
	istio     string // default value of the istio label
	path      Path
	cfg       *gatewayConfig
	ingress   *ingressGateway
	egress    *egressGateway
	isIngress bool
}

func (x *cpConv) gatewaysConv(istioGateways []*gatewayInput) {
	g := x.spec.Gateways
	if g == nil {
		return
	}
	p := Path{"gateways"}
	if g.Enabled != nil && !*g.Enabled {
		return
	}
	var units []gatewayUnit
	if ig := g.ClusterIngress; ig != nil {
		units = append(units, gatewayUnit{name: "istio-ingressgateway", istio: "ingressgateway",
			path: p.Child("ingress"), cfg: &ig.gatewayConfig, ingress: ig, isIngress: true})
	}
	if eg := g.ClusterEgress; eg != nil {
		units = append(units, gatewayUnit{name: "istio-egressgateway", istio: "egressgateway",
			path: p.Child("egress"), cfg: &eg.gatewayConfig, egress: eg})
	}
	for _, name := range sortedKeys(g.IngressGateways) {
		if ig := g.IngressGateways[name]; ig != nil {
			units = append(units, gatewayUnit{name: name, istio: name, path: p.Child("additionalIngress", name),
				cfg: &ig.gatewayConfig, ingress: ig, isIngress: true})
		}
	}
	for _, name := range sortedKeys(g.EgressGateways) {
		if eg := g.EgressGateways[name]; eg != nil {
			units = append(units, gatewayUnit{name: name, istio: name, path: p.Child("additionalEgress", name),
				cfg: &eg.gatewayConfig, egress: eg})
		}
	}
	ior := g.OpenShiftRoute != nil && g.OpenShiftRoute.Enabled != nil && *g.OpenShiftRoute.Enabled
	for _, u := range units {
		if u.cfg.Enabled != nil && !*u.cfg.Enabled {
			continue
		}
		svc := x.gateway(u)
		routes := ior
		if u.ingress != nil && u.ingress.RouteConfig != nil && u.ingress.RouteConfig.Enabled != nil {
			routes = *u.ingress.RouteConfig.Enabled
		}
		if routes && u.isIngress {
			x.routes(u, svc, istioGateways)
		}
	}
}

// gateway generates the objects of one gateway and returns its Service.
func (x *cpConv) gateway(u gatewayUnit) *corev1.Service {
	ns := defaultString(u.cfg.Namespace, x.ns)
	name := u.name + gatewayNameSuffix
	labels := map[string]string{"app": u.name, "istio": u.istio}
	svcAnnotations := map[string]string{}
	if s := u.cfg.Service; s != nil && s.Metadata != nil {
		for k, v := range s.Metadata.Labels {
			labels[k] = v
		}
		for k, v := range s.Metadata.Annotations {
			svcAnnotations[k] = v
		}
	}
	selector := map[string]string{"app": labels["app"], "istio": labels["istio"]}
	ref := func(apiVersion, kind, n string) ObjectRef {
		return ObjectRef{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: n}
	}
	depRef := ref("apps/v1", "Deployment", name)
	comment := fmt.Sprintf("Gateway %s of ServiceMeshControlPlane %s/%s, injected by the Istio %s", u.name, x.ns,
		x.in.meta.Name, x.name)

	sa := newObject("v1", "ServiceAccount", ns, name)
	sa.SetLabels(copyMap(selector))
	role := newObject("rbac.authorization.k8s.io/v1", "Role", ns, name)
	role.SetLabels(copyMap(selector))
	role.Object["rules"] = []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"},
		"verbs": []any{"get", "watch", "list"}}}
	rb := newObject("rbac.authorization.k8s.io/v1", "RoleBinding", ns, name)
	rb.SetLabels(copyMap(selector))
	rb.Object["roleRef"] = map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
	rb.Object["subjects"] = []any{map[string]any{"kind": "ServiceAccount", "name": name}}

	podLabels := copyMap(labels)
	podLabels["sidecar.istio.io/inject"] = "true"
	podLabels[RevisionLabel] = x.name
	podAnnotations := map[string]any{"inject.istio.io/templates": "gateway"}
	container := map[string]any{"name": "istio-proxy", "image": "auto"}
	podSpec := map[string]any{"serviceAccountName": name, "containers": []any{container}}
	depSpec := map[string]any{
		"selector": map[string]any{"matchLabels": toAnyMap(selector)},
		"template": map[string]any{
			"metadata": map[string]any{"labels": toAnyMap(podLabels), "annotations": podAnnotations},
			"spec":     podSpec,
		},
	}
	x.record(x.src(u.path), Target{ObjectRef: depRef}, "gateway injection")

	var env []any
	if u.cfg.RouterMode != "" {
		env = append(env, map[string]any{"name": "ISTIO_META_ROUTER_MODE", "value": u.cfg.RouterMode})
		x.record(x.src(u.path.Child("routerMode")), Target{ObjectRef: depRef,
			Path: "spec.template.spec.containers[0].env.ISTIO_META_ROUTER_MODE"}, "")
	}
	if u.egress != nil && len(u.egress.RequestedNetworkView) > 0 {
		env = append(env, map[string]any{"name": "ISTIO_META_REQUESTED_NETWORK_VIEW",
			"value": strings.Join(u.egress.RequestedNetworkView, ",")})
		x.record(x.src(u.path.Child("requestedNetworkView")), Target{ObjectRef: depRef,
			Path: "spec.template.spec.containers[0].env.ISTIO_META_REQUESTED_NETWORK_VIEW"}, "")
	}
	var hpa map[string]any
	if rt := u.cfg.Runtime; rt != nil {
		rp := u.path.Child("runtime")
		if d := rt.Deployment; d != nil {
			as := d.AutoScaling
			if as != nil && as.Enabled != nil && *as.Enabled {
				hpa = map[string]any{"minReplicas": int32(1), "maxReplicas": int32(5)}
				if as.MinReplicas != nil {
					hpa["minReplicas"] = *as.MinReplicas
				}
				if as.MaxReplicas != nil {
					hpa["maxReplicas"] = *as.MaxReplicas
				}
				if as.TargetCPUUtilizationPercentage != nil {
					hpa["cpu"] = *as.TargetCPUUtilizationPercentage
				}
			} else if d.Replicas != nil {
				depSpec["replicas"] = *d.Replicas
				x.record(x.src(rp.Child("deployment", "replicas")), Target{ObjectRef: depRef, Path: "spec.replicas"}, "")
			}
			if d.Strategy != nil {
				depSpec["strategy"] = jsonValue(d.Strategy)
				x.record(x.src(rp.Child("deployment", "strategy")), Target{ObjectRef: depRef, Path: "spec.strategy"}, "")
			}
		}
		if pod := rt.Pod; pod != nil {
			pp := rp.Child("pod")
			if md := pod.Metadata; md != nil {
				for k, v := range md.Annotations {
					podAnnotations[k] = v
				}
				for k, v := range md.Labels {
					podLabels[k] = v
				}
				depSpec["template"].(map[string]any)["metadata"].(map[string]any)["labels"] = toAnyMap(podLabels)
				x.record(x.src(pp.Child("metadata")), Target{ObjectRef: depRef, Path: "spec.template.metadata"}, "")
			}
			if len(pod.NodeSelector) > 0 {
				podSpec["nodeSelector"] = toAnyMap(pod.NodeSelector)
				x.record(x.src(pp.Child("nodeSelector")), Target{ObjectRef: depRef,
					Path: "spec.template.spec.nodeSelector"}, "")
			}
			if len(pod.Tolerations) > 0 {
				podSpec["tolerations"] = jsonValue(pod.Tolerations)
				x.record(x.src(pp.Child("tolerations")), Target{ObjectRef: depRef,
					Path: "spec.template.spec.tolerations"}, "")
			}
			if pod.PriorityClassName != "" {
				podSpec["priorityClassName"] = pod.PriorityClassName
				x.record(x.src(pp.Child("priorityClassName")), Target{ObjectRef: depRef,
					Path: "spec.template.spec.priorityClassName"}, "")
			}
			if pod.Affinity != nil {
				x.warn(pp.Child("affinity"), "OpenShift Service Mesh 2's affinity format is not carried over: write "+
					"a Kubernetes affinity in the Deployment %s/%s", ns, name)
			}
		}
		if c := rt.Container; c != nil {
			cp := rp.Child("container")
			if c.Resources != nil {
				container["resources"] = jsonValue(c.Resources)
				x.record(x.src(cp.Child("resources")), Target{ObjectRef: depRef,
					Path: "spec.template.spec.containers[0].resources"}, "")
			}
			for _, k := range sortedKeys(c.Env) {
				env = append(env, map[string]any{"name": k, "value": c.Env[k]})
				x.record(x.src(cp.Child("env", k)), Target{ObjectRef: depRef,
					Path: "spec.template.spec.containers[0].env." + k}, "")
			}
			if c.ImagePullPolicy != "" {
				container["imagePullPolicy"] = string(c.ImagePullPolicy)
			}
			if len(c.ImagePullSecrets) > 0 {
				podSpec["imagePullSecrets"] = jsonValue(c.ImagePullSecrets)
			}
			x.dropImageFields(cp, c)
		}
	}
	if len(env) > 0 {
		container["env"] = env
	}
	var volumes, mounts []any
	for i, v := range u.cfg.Volumes {
		vp := u.path.Child("volumes").Index(i)
		name := defaultString(v.Volume.Name, v.Mount.Name)
		if name == "" || v.Mount.MountPath == "" || (v.Volume.ConfigMap == nil && v.Volume.Secret == nil) {
			x.warn(vp, "the volume needs a name, a mount path and a configMap or secret: not carried over")
			continue
		}
		vol := map[string]any{"name": name}
		if v.Volume.ConfigMap != nil {
			vol["configMap"] = jsonValue(v.Volume.ConfigMap)
		}
		if v.Volume.Secret != nil {
			vol["secret"] = jsonValue(v.Volume.Secret)
		}
		mount, _ := jsonValue(v.Mount).(map[string]any)
		if mount == nil {
			mount = map[string]any{}
		}
		mount["name"] = name
		volumes = append(volumes, vol)
		mounts = append(mounts, mount)
		x.record(x.src(vp), Target{ObjectRef: depRef, Path: fmt.Sprintf("spec.template.spec.volumes[%d]", len(volumes)-1)}, "")
	}
	if len(volumes) > 0 {
		podSpec["volumes"] = volumes
		container["volumeMounts"] = mounts
	}
	if u.ingress != nil {
		if u.ingress.SDS != nil {
			x.note(u.path.Child("sds"), "gateways always read their certificates through SDS upstream; the setting "+
				"is not needed")
		}
		if u.ingress.IngressEnabled != nil && *u.ingress.IngressEnabled {
			x.warn(u.path.Child("ingress"), "Kubernetes Ingress resources are not served (meshConfig."+
				"ingressControllerMode OFF): use Istio Gateway or Gateway API resources, or OpenShift Routes")
		}
		if len(u.ingress.MeshExpansionPorts) > 0 {
			x.warn(u.path.Child("meshExpansionPorts"), "mesh expansion ports are not carried over: expose istiod "+
				"to virtual machines through an east-west gateway")
		}
	}
	dep := newObject("apps/v1", "Deployment", ns, name)
	dep.SetLabels(copyMap(labels))
	dep.Object["spec"] = depSpec

	svc := &corev1.Service{}
	svc.Name, svc.Namespace = u.name, ns
	if s := u.cfg.Service; s != nil {
		svc.Spec = *s.ServiceSpec.DeepCopy()
		x.record(x.src(u.path.Child("service")), Target{ObjectRef: ref("v1", "Service", u.name), Path: "spec"}, "")
	}
	if len(svc.Spec.Ports) == 0 {
		svc.Spec.Ports = defaultGatewayPorts(u.isIngress)
		x.note(u.path.Child("service", "ports"), "no ports are set: the Service %s/%s gets OpenShift Service "+
			"Mesh 2's default ports (%s)", ns, u.name, portList(svc.Spec.Ports))
	}
	svc.Spec.Selector = selector
	svcObj := newObject("v1", "Service", ns, u.name)
	svcObj.SetLabels(copyMap(labels))
	if len(svcAnnotations) > 0 {
		svcObj.SetAnnotations(svcAnnotations)
	}
	svcObj.Object["spec"] = jsonValue(svc.Spec)

	x.gateways = append(x.gateways,
		Object{Unstructured: sa, Comment: comment + ": service account"},
		Object{Unstructured: role, Comment: comment + ": lets the gateway read its TLS secrets"},
		Object{Unstructured: rb, Comment: comment + ": binds the role"},
		Object{Unstructured: dep, Comment: comment + ". The image is set by injection (image: auto)."},
		Object{Unstructured: svcObj, Comment: comment + ": the Service has the name of the one OpenShift " +
			"Service Mesh 2 manages; while that exists it already selects the new pods (same app and istio labels)"})
	if hpa != nil {
		h := newObject("autoscaling/v2", "HorizontalPodAutoscaler", ns, name)
		spec := map[string]any{
			"scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
			"minReplicas":    hpa["minReplicas"], "maxReplicas": hpa["maxReplicas"],
		}
		if cpu, ok := hpa["cpu"]; ok {
			spec["metrics"] = []any{map[string]any{"type": "Resource", "resource": map[string]any{"name": "cpu",
				"target": map[string]any{"type": "Utilization", "averageUtilization": cpu}}}}
		}
		h.Object["spec"] = spec
		x.record(x.src(u.path.Child("runtime", "deployment", "autoScaling")), Target{ObjectRef: ref(
			"autoscaling/v2", "HorizontalPodAutoscaler", name), Path: "spec"}, "")
		x.gateways = append(x.gateways, Object{Unstructured: h, Comment: comment + ": autoscaling"})
	}
	if ns != x.ns && !x.clusterWide {
		x.labelNamespace(ns, map[string]string{DiscoveryLabel: x.name}, x.src(u.path.Child("namespace")),
			"Gateway namespace: selected by the Istio's discoverySelectors")
	}
	x.warn(u.path, "the gateway is now the Deployment %s/%s, injected by the Istio (gateway injection); its "+
		"Service %s/%s has the name of the one OpenShift Service Mesh 2 manages, which already selects the new "+
		"pods (same app and istio labels), so traffic moves over as they become ready. Apply the generated "+
		"Service once the gateway is disabled in the ServiceMeshControlPlane (%s.enabled: false)", ns, name, ns,
		u.name, u.path)
	return svc
}

// routes generates the OpenShift Routes that IOR created for the hosts of the Istio Gateways using gateway u.
func (x *cpConv) routes(u gatewayUnit, svc *corev1.Service, gateways []*gatewayInput) {
	at := Path{"gateways", "openshiftRoute", "enabled"}
	if u.ingress != nil && u.ingress.RouteConfig != nil && u.ingress.RouteConfig.Enabled != nil {
		at = u.path.Child("routeConfig", "enabled")
	}
	labels := map[string]string{"app": u.name, "istio": u.istio}
	if s := u.cfg.Service; s != nil && s.Metadata != nil {
		for k, v := range s.Metadata.Labels {
			labels[k] = v
		}
	}
	count := 0
	for _, gw := range gateways {
		if len(gw.spec.Selector) == 0 || !selectorMatches(gw.spec.Selector, labels) {
			continue
		}
		for si, server := range gw.spec.Servers {
			for _, host := range server.Hosts {
				if i := strings.Index(host, "/"); i >= 0 {
					host = host[i+1:]
				}
				wildcard := ""
				switch {
				case host == "*" || host == "":
					x.c.rep.add(SeverityWarning, x.c.at(gw.doc, Path{"spec", "servers"}.Index(si)), "host * "+
						"cannot be exposed by an OpenShift Route: create one for each host clients use")
					continue
				case strings.HasPrefix(host, "*."):
					host, wildcard = "wildcard."+host[2:], "Subdomain"
				}
				sum := sha256.Sum256([]byte(host))
				name := fmt.Sprintf("%s-%s-%s", gw.meta.Namespace, gw.meta.Name, hex.EncodeToString(sum[:])[:10])
				if len(name) > 63 {
					name = name[:52] + "-" + hex.EncodeToString(sum[:])[:10]
				}
				route := newObject("route.openshift.io/v1", "Route", svc.Namespace, name)
				route.SetLabels(map[string]string{"app": u.name, "sailoperator.io/gateway-namespace": gw.meta.Namespace,
					"sailoperator.io/gateway-name": gw.meta.Name})
				spec := map[string]any{"host": host, "to": map[string]any{"kind": "Service", "name": svc.Name,
					"weight": int32(100)}}
				if wildcard != "" {
					spec["wildcardPolicy"] = wildcard
				}
				for _, sp := range svc.Spec.Ports {
					if uint32(sp.Port) == server.Port.Number {
						target := sp.Name
						if target == "" {
							target = sp.TargetPort.String()
						}
						spec["port"] = map[string]any{"targetPort": target}
					}
				}
				if server.TLS != nil {
					spec["tls"] = map[string]any{"termination": "passthrough"}
				}
				route.Object["spec"] = spec
				x.gateways = append(x.gateways, Object{Unstructured: route, Comment: fmt.Sprintf("Route for host %s "+
					"of Gateway %s/%s, which OpenShift Service Mesh 2 created automatically (IOR)", host,
					gw.meta.Namespace, gw.meta.Name)})
				x.record(x.c.at(gw.doc, Path{"spec", "servers"}.Index(si).Child("hosts")), Target{ObjectRef: ObjectRef{
					APIVersion: "route.openshift.io/v1", Kind: "Route", Namespace: svc.Namespace, Name: name},
					Path: "spec.host"}, "IOR")
				count++
			}
		}
	}
	if count == 0 {
		x.warn(at, "OpenShift Service Mesh 2 created Routes for the hosts of the Istio Gateways that use gateway "+
			"%s (IOR), and deletes them with the ServiceMeshControlPlane; none of those Gateways is in the input. "+
			"Add them (oc get gateways.networking.istio.io -A -o yaml) to generate the Routes, or create Routes "+
			"yourself", u.name)
		return
	}
	x.note(at, "%d Route(s) generated for gateway %s; while the Routes of IOR exist, the router keeps serving "+
		"each host with the older Route", count, u.name)
}

func selectorMatches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// defaultGatewayPorts are the Service ports OpenShift Service Mesh 2 gave its gateways.
func defaultGatewayPorts(ingress bool) []corev1.ServicePort {
	port := func(name string, p, target int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: p, Protocol: corev1.ProtocolTCP,
			TargetPort: intOrStr(target)}
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

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
