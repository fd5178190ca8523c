package convert

import (
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
)

// unmanagedComponents are the runtime components whose settings have nowhere to go upstream, with advice.
var unmanagedComponents = map[string]string{
	"security":               "citadel was merged into istiod in OpenShift Service Mesh 2.0; the settings are ignored",
	"galley":                 "galley was merged into istiod in OpenShift Service Mesh 2.0; the settings are ignored",
	"sidecarInjectorWebhook": "the injector is part of istiod; set spec.values.pilot for istiod's pods",
	"mixer":                  "Mixer does not exist upstream",
	"mixer.policy":           "Mixer does not exist upstream",
	"mixer.telemetry":        "Mixer does not exist upstream",
	"global.oauthproxy":      "the OAuth proxy belonged to the add-ons, which Sail does not install",
	"3scale":                 "the 3scale adapter is not installed by Sail",
	"wasmExtensions.cacher":  "the ServiceMeshExtension cacher does not exist upstream",
	"rateLimiting.rls":       "the rate limiting service is not installed by Sail",
}

// convertRuntime carries over spec.runtime: istiod's runtime (components.pilot) and the defaults of every
// component.
func convertRuntime(p *plane) {
	rt := p.spec.Runtime
	if rt == nil {
		return
	}
	at := fieldpath.Path{"runtime"}
	for _, name := range slices.Sorted(maps.Keys(rt.Components)) {
		c := rt.Components[name]
		cp := at.Child("components", name)
		if c == nil {
			continue
		}
		switch {
		case name == "pilot":
			pilotRuntime(p, cp, c)
		case unmanagedComponents[name] != "":
			p.src.warn(cp, "not carried over: %s", unmanagedComponents[name])
		case strings.HasPrefix(name, "tracing") || name == "prometheus" || name == "kiali" || name == "grafana":
			p.src.warn(cp, "not carried over: Sail does not install the add-ons; configure %s where you install it",
				name)
		default:
			p.src.warn(cp, "unknown component %s: not carried over", name)
		}
	}
	if d := rt.Defaults; d != nil {
		runtimeDefaults(p, at.Child("defaults"), d)
	}
}

// runtimeDefaults carries over spec.runtime.defaults to Istio's global defaults.
func runtimeDefaults(p *plane, at fieldpath.Path, d *input.RuntimeDefaults) {
	if c := d.Container; c != nil {
		defaultContainer(p, at.Child("container"), c)
	}
	if dd := d.Deployment; dd != nil && dd.PodDisruption != nil {
		pp := at.Child("deployment", "podDisruption")
		pd := dd.PodDisruption
		if pd.Enabled != nil {
			p.istio.carry(pp.Child("enabled"), vpath("global.defaultPodDisruptionBudget.enabled"), *pd.Enabled)
		}
		if pd.MinAvailable != nil || pd.MaxUnavailable != nil {
			p.src.warn(pp, "minAvailable and maxUnavailable have no upstream counterpart (the budgets allow one "+
				"unavailable pod): not carried over")
		}
	}
	if pod := d.Pod; pod != nil {
		pp := at.Child("pod")
		if len(pod.NodeSelector) > 0 {
			p.istio.carry(pp.Child("nodeSelector"), vpath("global.defaultNodeSelector"), pod.NodeSelector)
		}
		if len(pod.Tolerations) > 0 {
			p.istio.carry(pp.Child("tolerations"), vpath("global.defaultTolerations"),
				resource.JSONValue(pod.Tolerations))
		}
		p.istio.carryString(pp.Child("priorityClassName"), vpath("global.priorityClassName"), pod.PriorityClassName)
	}
}

// defaultContainer carries over spec.runtime.defaults.container.
func defaultContainer(p *plane, at fieldpath.Path, c *input.ContainerConfig) {
	if r := c.Resources; r != nil {
		req := map[string]any{}
		if v, ok := r.Requests[corev1.ResourceCPU]; ok {
			req["cpu"] = v.String()
		}
		if v, ok := r.Requests[corev1.ResourceMemory]; ok {
			req["memory"] = v.String()
		}
		if len(req) > 0 {
			p.istio.carry(at.Child("resources", "requests"), vpath("global.defaultResources.requests"), req)
		}
		if len(r.Limits) > 0 {
			p.src.warn(at.Child("resources", "limits"), "default limits have no upstream counterpart: set limits "+
				"per component (spec.values.pilot.resources, global.proxy.resources)")
		}
	}
	p.istio.carryString(at.Child("imagePullPolicy"), vpath("global.imagePullPolicy"), string(c.ImagePullPolicy))
	if len(c.ImagePullSecrets) > 0 {
		var names []string
		for _, s := range c.ImagePullSecrets {
			names = append(names, s.Name)
		}
		p.istio.carry(at.Child("imagePullSecrets"), vpath("global.imagePullSecrets"), names)
	}
	dropImageFields(p.src, at, c)
	if len(c.Env) > 0 {
		p.src.warn(at.Child("env"), "default environment variables have no upstream counterpart: set them per "+
			"component (spec.values.pilot.env)")
	}
}

// pilotRuntime carries over istiod's runtime (spec.runtime.components.pilot) to spec.values.pilot.
func pilotRuntime(p *plane, at fieldpath.Path, c *input.ComponentRuntime) {
	if d := c.Deployment; d != nil {
		pilotDeployment(p, at.Child("deployment"), d)
	}
	if pod := c.Pod; pod != nil {
		pilotPod(p, at.Child("pod"), pod)
	}
	if ct := c.Container; ct != nil {
		cp := at.Child("container")
		carryContainer(p, cp, ct, vpath("pilot.resources"), vpath("pilot.env"))
		if ct.ImagePullPolicy != "" || len(ct.ImagePullSecrets) > 0 {
			p.src.warn(cp, "istiod has no image pull settings of its own upstream: set "+
				"spec.values.global.imagePullPolicy and imagePullSecrets (apply to every component)")
		}
	}
}

func pilotDeployment(p *plane, at fieldpath.Path, d *input.ComponentDeployment) {
	if d.Replicas != nil {
		p.istio.carry(at.Child("replicas"), vpath("pilot.replicaCount"), *d.Replicas)
		if d.AutoScaling == nil || !d.AutoScaling.On() {
			p.istio.carry(at.Child("replicas"), vpath("pilot.autoscaleEnabled"), false)
		}
	}
	if as := d.AutoScaling; as != nil {
		ap := at.Child("autoScaling")
		if as.Enabled != nil {
			p.istio.carry(ap.Child("enabled"), vpath("pilot.autoscaleEnabled"), *as.Enabled)
		}
		if as.MinReplicas != nil {
			p.istio.carry(ap.Child("minReplicas"), vpath("pilot.autoscaleMin"), *as.MinReplicas)
		}
		if as.MaxReplicas != nil {
			p.istio.carry(ap.Child("maxReplicas"), vpath("pilot.autoscaleMax"), *as.MaxReplicas)
		}
		if as.TargetCPUUtilizationPercentage != nil {
			p.istio.carry(ap.Child("targetCPUUtilizationPercentage"), vpath("pilot.cpu.targetAverageUtilization"),
				*as.TargetCPUUtilizationPercentage)
		}
	}
	if s := d.Strategy; s != nil {
		pilotStrategy(p, at.Child("strategy"), s)
	}
}

func pilotStrategy(p *plane, at fieldpath.Path, s *appsv1.DeploymentStrategy) {
	switch {
	case s.Type == appsv1.RecreateDeploymentStrategyType:
		p.src.warn(at.Child("type"), "istiod is always updated with a rolling update upstream: not carried over")
	case s.RollingUpdate != nil:
		if s.RollingUpdate.MaxSurge != nil {
			p.istio.carry(at.Child("rollingUpdate", "maxSurge"), vpath("pilot.rollingMaxSurge"),
				resource.JSONValue(s.RollingUpdate.MaxSurge))
		}
		if s.RollingUpdate.MaxUnavailable != nil {
			p.istio.carry(at.Child("rollingUpdate", "maxUnavailable"), vpath("pilot.rollingMaxUnavailable"),
				resource.JSONValue(s.RollingUpdate.MaxUnavailable))
		}
	}
}

func pilotPod(p *plane, at fieldpath.Path, pod *input.ComponentPod) {
	if md := pod.Metadata; md != nil {
		if len(md.Annotations) > 0 {
			p.istio.carry(at.Child("metadata", "annotations"), vpath("pilot.podAnnotations"), md.Annotations)
		}
		if len(md.Labels) > 0 {
			p.istio.carry(at.Child("metadata", "labels"), vpath("pilot.podLabels"), md.Labels)
		}
	}
	if len(pod.NodeSelector) > 0 {
		p.istio.carry(at.Child("nodeSelector"), vpath("pilot.nodeSelector"), pod.NodeSelector)
	}
	if len(pod.Tolerations) > 0 {
		p.istio.carry(at.Child("tolerations"), vpath("pilot.tolerations"), resource.JSONValue(pod.Tolerations))
	}
	if pod.PriorityClassName != "" {
		p.src.warn(at.Child("priorityClassName"), "istiod has no priority class setting of its own upstream: "+
			"set spec.values.global.priorityClassName (applies to every component) if you need it")
	}
	if pod.Affinity != nil {
		p.src.warn(at.Child("affinity"), "OpenShift Service Mesh 2's affinity format is not carried over: write "+
			"a Kubernetes affinity under spec.values.pilot.affinity")
	}
}
