package convert

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
)

// gatewayBuild converts one gateway: a Deployment injected by the Istio (gateway injection) with its
// ServiceAccount, Role and RoleBinding, its Service and, with autoscaling, a HorizontalPodAutoscaler.
type gatewayBuild struct {
	p *plane
	u gatewayUnit
	// ns is the gateway's namespace, name the name of its Deployment, ServiceAccount, Role and RoleBinding.
	ns, name string
	// labels are the Deployment's and Service's labels, selector the pod labels the Service selects.
	labels, selector map[string]string
	comment          string
	// The parts of the Deployment being built.
	depSpec, podSpec, container map[string]any
	podLabels                   map[string]string
	podAnnotations              map[string]any
	env                         []any
	// hpa holds minReplicas, maxReplicas and cpu when autoscaling is on.
	hpa map[string]any
}

func newGatewayBuild(p *plane, u gatewayUnit) *gatewayBuild {
	b := &gatewayBuild{p: p, u: u, ns: defaultString(u.cfg.Namespace, p.ns), name: u.name + gatewayNameSuffix,
		labels: u.labels()}
	b.selector = map[string]string{"app": b.labels["app"], "istio": b.labels["istio"]}
	b.comment = fmt.Sprintf("Gateway %s of ServiceMeshControlPlane %s/%s, injected by the Istio %s", u.name, p.ns,
		p.smcp.Meta.Name, p.name)
	b.podLabels = maps.Clone(b.labels)
	b.podLabels["sidecar.istio.io/inject"] = "true"
	b.podLabels[RevisionLabel] = p.name
	b.podAnnotations = map[string]any{"inject.istio.io/templates": "gateway"}
	b.container = map[string]any{"name": "istio-proxy", "image": "auto"}
	b.podSpec = map[string]any{"serviceAccountName": b.name, "containers": []any{b.container}}
	b.depSpec = map[string]any{"selector": map[string]any{"matchLabels": toAnyMap(b.selector)}}
	return b
}

// convertGateway generates the objects of one gateway and returns its Service.
func convertGateway(p *plane, u gatewayUnit) *corev1.Service {
	b := newGatewayBuild(p, u)
	b.carried(u.path, b.ref("apps/v1", "Deployment", b.name), "", "gateway injection")
	b.networkEnv()
	if rt := u.cfg.Runtime; rt != nil {
		b.runtime(u.path.Child("runtime"), rt)
	}
	if len(b.env) > 0 {
		b.container["env"] = b.env
	}
	b.volumes()
	b.ingressNotes()
	svc, svcObj := b.service()
	p.gateways = append(p.gateways, b.objects(svcObj)...)
	if b.hpa != nil {
		p.gateways = append(p.gateways, b.autoscaler())
	}
	if b.ns != p.ns && !p.clusterWide {
		p.namespaces.add(b.ns, map[string]string{DiscoveryLabel: p.name}, p.src.at(u.path.Child("namespace")),
			"Gateway namespace: selected by the Istio's discoverySelectors")
	}
	p.src.warn(u.path, "the gateway is now the Deployment %s/%s, injected by the Istio (gateway injection); its "+
		"Service %s/%s has the name of the one OpenShift Service Mesh 2 manages, which already selects the new "+
		"pods (same app and istio labels), so traffic moves over as they become ready. Apply the generated "+
		"Service once the gateway is disabled in the ServiceMeshControlPlane (%s.enabled: false)", b.ns, b.name,
		b.ns, u.name, u.path)
	return svc
}

// ref references an object in the gateway's namespace.
func (b *gatewayBuild) ref(apiVersion, kind, name string) resource.Ref {
	return resource.Ref{APIVersion: apiVersion, Kind: kind, Namespace: b.ns, Name: name}
}

// carried records that the input field from went to the field path of the object to.
func (b *gatewayBuild) carried(from fieldpath.Path, to resource.Ref, path, note string) {
	b.p.rep.Carry(b.p.src.at(from), report.Target{Ref: to, Path: path}, note)
}

// toDeployment records that the input field from went to the field path of the Deployment.
func (b *gatewayBuild) toDeployment(from fieldpath.Path, path string) {
	b.carried(from, b.ref("apps/v1", "Deployment", b.name), path, "")
}

// addEnv adds an environment variable to the proxy container, recording the input field it comes from.
func (b *gatewayBuild) addEnv(from fieldpath.Path, name, value string) {
	b.env = append(b.env, map[string]any{"name": name, "value": value})
	b.toDeployment(from, "spec.template.spec.containers[0].env."+name)
}

// networkEnv carries over the router mode and the requested network view, which are proxy environment variables.
func (b *gatewayBuild) networkEnv() {
	if b.u.cfg.RouterMode != "" {
		b.addEnv(b.u.path.Child("routerMode"), "ISTIO_META_ROUTER_MODE", b.u.cfg.RouterMode)
	}
	if eg := b.u.egress; eg != nil && len(eg.RequestedNetworkView) > 0 {
		b.addEnv(b.u.path.Child("requestedNetworkView"), "ISTIO_META_REQUESTED_NETWORK_VIEW",
			strings.Join(eg.RequestedNetworkView, ","))
	}
}

// runtime carries over the gateway's runtime settings to its Deployment.
func (b *gatewayBuild) runtime(at fieldpath.Path, rt *input.ComponentRuntime) {
	if d := rt.Deployment; d != nil {
		b.deployment(at.Child("deployment"), d)
	}
	if pod := rt.Pod; pod != nil {
		b.pod(at.Child("pod"), pod)
	}
	if c := rt.Container; c != nil {
		b.proxyContainer(at.Child("container"), c)
	}
}

// deployment carries over replicas (or autoscaling) and the update strategy.
func (b *gatewayBuild) deployment(at fieldpath.Path, d *input.ComponentDeployment) {
	if as := d.AutoScaling; as != nil && as.On() {
		b.hpa = map[string]any{"minReplicas": int32(1), "maxReplicas": int32(5)}
		if as.MinReplicas != nil {
			b.hpa["minReplicas"] = *as.MinReplicas
		}
		if as.MaxReplicas != nil {
			b.hpa["maxReplicas"] = *as.MaxReplicas
		}
		if as.TargetCPUUtilizationPercentage != nil {
			b.hpa["cpu"] = *as.TargetCPUUtilizationPercentage
		}
	} else if d.Replicas != nil {
		b.depSpec["replicas"] = *d.Replicas
		b.toDeployment(at.Child("replicas"), "spec.replicas")
	}
	if d.Strategy != nil {
		b.depSpec["strategy"] = resource.JSONValue(d.Strategy)
		b.toDeployment(at.Child("strategy"), "spec.strategy")
	}
}

// pod carries over the pod's metadata, scheduling and priority.
func (b *gatewayBuild) pod(at fieldpath.Path, pod *input.ComponentPod) {
	if md := pod.Metadata; md != nil {
		for k, v := range md.Annotations {
			b.podAnnotations[k] = v
		}
		maps.Copy(b.podLabels, md.Labels)
		b.toDeployment(at.Child("metadata"), "spec.template.metadata")
	}
	if len(pod.NodeSelector) > 0 {
		b.podSpec["nodeSelector"] = toAnyMap(pod.NodeSelector)
		b.toDeployment(at.Child("nodeSelector"), "spec.template.spec.nodeSelector")
	}
	if len(pod.Tolerations) > 0 {
		b.podSpec["tolerations"] = resource.JSONValue(pod.Tolerations)
		b.toDeployment(at.Child("tolerations"), "spec.template.spec.tolerations")
	}
	if pod.PriorityClassName != "" {
		b.podSpec["priorityClassName"] = pod.PriorityClassName
		b.toDeployment(at.Child("priorityClassName"), "spec.template.spec.priorityClassName")
	}
	if pod.Affinity != nil {
		b.p.src.warn(at.Child("affinity"), "OpenShift Service Mesh 2's affinity format is not carried over: write "+
			"a Kubernetes affinity in the Deployment %s/%s", b.ns, b.name)
	}
}

// proxyContainer carries over the proxy container's resources, environment and image pull settings.
func (b *gatewayBuild) proxyContainer(at fieldpath.Path, c *input.ContainerConfig) {
	if c.Resources != nil {
		b.container["resources"] = resource.JSONValue(c.Resources)
		b.toDeployment(at.Child("resources"), "spec.template.spec.containers[0].resources")
	}
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		b.addEnv(at.Child("env", k), k, c.Env[k])
	}
	if c.ImagePullPolicy != "" {
		b.container["imagePullPolicy"] = string(c.ImagePullPolicy)
	}
	if len(c.ImagePullSecrets) > 0 {
		b.podSpec["imagePullSecrets"] = resource.JSONValue(c.ImagePullSecrets)
	}
	dropImageFields(b.p.src, at, c)
}

// volumes carries over the ConfigMaps and Secrets mounted into the gateway.
func (b *gatewayBuild) volumes() {
	var volumes, mounts []any
	for i, v := range b.u.cfg.Volumes {
		vp := b.u.path.Child("volumes").Index(i)
		name := defaultString(v.Volume.Name, v.Mount.Name)
		if name == "" || v.Mount.MountPath == "" || (v.Volume.ConfigMap == nil && v.Volume.Secret == nil) {
			b.p.src.warn(vp, "the volume needs a name, a mount path and a configMap or secret: not carried over")
			continue
		}
		vol := map[string]any{"name": name}
		if v.Volume.ConfigMap != nil {
			vol["configMap"] = resource.JSONValue(v.Volume.ConfigMap)
		}
		if v.Volume.Secret != nil {
			vol["secret"] = resource.JSONValue(v.Volume.Secret)
		}
		mount, _ := resource.JSONValue(v.Mount).(map[string]any)
		if mount == nil {
			mount = map[string]any{}
		}
		mount["name"] = name
		volumes = append(volumes, vol)
		mounts = append(mounts, mount)
		b.toDeployment(vp, fmt.Sprintf("spec.template.spec.volumes[%d]", len(volumes)-1))
	}
	if len(volumes) > 0 {
		b.podSpec["volumes"] = volumes
		b.container["volumeMounts"] = mounts
	}
}

// ingressNotes reports the ingress gateway settings that are not carried over.
func (b *gatewayBuild) ingressNotes() {
	ig := b.u.ingress
	if ig == nil {
		return
	}
	if ig.SDS != nil {
		b.p.src.note(b.u.path.Child("sds"), "gateways always read their certificates through SDS upstream; the "+
			"setting is not needed")
	}
	if ig.IngressEnabled != nil && *ig.IngressEnabled {
		b.p.src.warn(b.u.path.Child("ingress"), "Kubernetes Ingress resources are not served (meshConfig."+
			"ingressControllerMode OFF): use Istio Gateway or Gateway API resources, or OpenShift Routes")
	}
	if len(ig.MeshExpansionPorts) > 0 {
		b.p.src.warn(b.u.path.Child("meshExpansionPorts"), "mesh expansion ports are not carried over: expose "+
			"istiod to virtual machines through an east-west gateway")
	}
}

// service returns the gateway's Service, typed and as the generated object.
func (b *gatewayBuild) service() (*corev1.Service, resource.Object) {
	u := b.u
	svc := &corev1.Service{}
	svc.Name, svc.Namespace = u.name, b.ns
	annotations := map[string]string{}
	if s := u.cfg.Service; s != nil {
		if s.Metadata != nil {
			maps.Copy(annotations, s.Metadata.Annotations)
		}
		svc.Spec = *s.ServiceSpec.DeepCopy()
		b.carried(u.path.Child("service"), b.ref("v1", "Service", u.name), "spec", "")
	}
	if len(svc.Spec.Ports) == 0 {
		svc.Spec.Ports = defaultGatewayPorts(u.isIngress)
		b.p.src.note(u.path.Child("service", "ports"), "no ports are set: the Service %s/%s gets OpenShift Service "+
			"Mesh 2's default ports (%s)", b.ns, u.name, portList(svc.Spec.Ports))
	}
	svc.Spec.Selector = b.selector
	obj := resource.New("v1", "Service", b.ns, u.name)
	obj.SetLabels(maps.Clone(b.labels))
	if len(annotations) > 0 {
		obj.SetAnnotations(annotations)
	}
	obj.Object["spec"] = resource.JSONValue(svc.Spec)
	return svc, resource.Object{Unstructured: obj, Comment: b.comment + ": the Service has the name of the one " +
		"OpenShift Service Mesh 2 manages; while that exists it already selects the new pods (same app and istio " +
		"labels)"}
}

// objects returns the gateway's ServiceAccount, Role, RoleBinding, Deployment and then svc.
func (b *gatewayBuild) objects(svc resource.Object) []resource.Object {
	sa := resource.New("v1", "ServiceAccount", b.ns, b.name)
	sa.SetLabels(maps.Clone(b.selector))
	role := resource.New("rbac.authorization.k8s.io/v1", "Role", b.ns, b.name)
	role.SetLabels(maps.Clone(b.selector))
	role.Object["rules"] = []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"},
		"verbs": []any{"get", "watch", "list"}}}
	rb := resource.New("rbac.authorization.k8s.io/v1", "RoleBinding", b.ns, b.name)
	rb.SetLabels(maps.Clone(b.selector))
	rb.Object["roleRef"] = map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": b.name}
	rb.Object["subjects"] = []any{map[string]any{"kind": "ServiceAccount", "name": b.name}}
	dep := resource.New("apps/v1", "Deployment", b.ns, b.name)
	dep.SetLabels(maps.Clone(b.labels))
	b.depSpec["template"] = map[string]any{
		"metadata": map[string]any{"labels": toAnyMap(b.podLabels), "annotations": b.podAnnotations},
		"spec":     b.podSpec,
	}
	dep.Object["spec"] = b.depSpec
	return []resource.Object{
		{Unstructured: sa, Comment: b.comment + ": service account"},
		{Unstructured: role, Comment: b.comment + ": lets the gateway read its TLS secrets"},
		{Unstructured: rb, Comment: b.comment + ": binds the role"},
		{Unstructured: dep, Comment: b.comment + ". The image is set by injection (image: auto)."},
		svc,
	}
}

// autoscaler returns the gateway's HorizontalPodAutoscaler, recording the autoscaling settings it comes from.
func (b *gatewayBuild) autoscaler() resource.Object {
	h := resource.New("autoscaling/v2", "HorizontalPodAutoscaler", b.ns, b.name)
	spec := map[string]any{
		"scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": b.name},
		"minReplicas":    b.hpa["minReplicas"], "maxReplicas": b.hpa["maxReplicas"],
	}
	if cpu, ok := b.hpa["cpu"]; ok {
		spec["metrics"] = []any{map[string]any{"type": "Resource", "resource": map[string]any{"name": "cpu",
			"target": map[string]any{"type": "Utilization", "averageUtilization": cpu}}}}
	}
	h.Object["spec"] = spec
	b.carried(b.u.path.Child("runtime", "deployment", "autoScaling"),
		b.ref("autoscaling/v2", "HorizontalPodAutoscaler", b.name), "spec", "")
	return resource.Object{Unstructured: h, Comment: b.comment + ": autoscaling"}
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
