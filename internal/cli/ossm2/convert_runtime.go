package ossm2

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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

func (x *cpConv) runtime() {
	rt := x.spec.Runtime
	if rt == nil {
		return
	}
	p := Path{"runtime"}
	for _, name := range sortedKeys(rt.Components) {
		c := rt.Components[name]
		cp := p.Child("components", name)
		if c == nil {
			continue
		}
		switch {
		case name == "pilot":
			x.pilotRuntime(cp, c)
		case unmanagedComponents[name] != "":
			x.warn(cp, "not carried over: %s", unmanagedComponents[name])
		case strings.HasPrefix(name, "tracing") || name == "prometheus" || name == "kiali" || name == "grafana":
			x.warn(cp, "not carried over: Sail does not install the add-ons; configure %s where you install it",
				name)
		default:
			x.warn(cp, "unknown component %s: not carried over", name)
		}
	}
	if d := rt.Defaults; d != nil {
		dp := p.Child("defaults")
		if c := d.Container; c != nil {
			cp := dp.Child("container")
			if r := c.Resources; r != nil {
				req := map[string]any{}
				if v, ok := r.Requests[corev1.ResourceCPU]; ok {
					req["cpu"] = v.String()
				}
				if v, ok := r.Requests[corev1.ResourceMemory]; ok {
					req["memory"] = v.String()
				}
				if len(req) > 0 {
					x.carry(cp.Child("resources", "requests"), vpath("global.defaultResources.requests"), req)
				}
				if len(r.Limits) > 0 {
					x.warn(cp.Child("resources", "limits"), "default limits have no upstream counterpart: set "+
						"limits per component (spec.values.pilot.resources, global.proxy.resources)")
				}
			}
			if c.ImagePullPolicy != "" {
				x.carry(cp.Child("imagePullPolicy"), vpath("global.imagePullPolicy"), string(c.ImagePullPolicy))
			}
			if len(c.ImagePullSecrets) > 0 {
				var names []string
				for _, s := range c.ImagePullSecrets {
					names = append(names, s.Name)
				}
				x.carry(cp.Child("imagePullSecrets"), vpath("global.imagePullSecrets"), names)
			}
			x.dropImageFields(cp, c)
			if len(c.Env) > 0 {
				x.warn(cp.Child("env"), "default environment variables have no upstream counterpart: set them per "+
					"component (spec.values.pilot.env)")
			}
		}
		if dd := d.Deployment; dd != nil && dd.PodDisruption != nil {
			pp := dp.Child("deployment", "podDisruption")
			if dd.PodDisruption.Enabled != nil {
				x.carry(pp.Child("enabled"), vpath("global.defaultPodDisruptionBudget.enabled"), *dd.PodDisruption.Enabled)
			}
			if dd.PodDisruption.MinAvailable != nil || dd.PodDisruption.MaxUnavailable != nil {
				x.warn(pp, "minAvailable and maxUnavailable have no upstream counterpart (the budgets allow one "+
					"unavailable pod): not carried over")
			}
		}
		if pod := d.Pod; pod != nil {
			pp := dp.Child("pod")
			if len(pod.NodeSelector) > 0 {
				x.carry(pp.Child("nodeSelector"), vpath("global.defaultNodeSelector"), pod.NodeSelector)
			}
			if len(pod.Tolerations) > 0 {
				x.carry(pp.Child("tolerations"), vpath("global.defaultTolerations"), jsonValue(pod.Tolerations))
			}
			if pod.PriorityClassName != "" {
				x.carry(pp.Child("priorityClassName"), vpath("global.priorityClassName"), pod.PriorityClassName)
			}
		}
	}
}

func (x *cpConv) pilotRuntime(p Path, c *componentRuntime) {
	if d := c.Deployment; d != nil {
		dp := p.Child("deployment")
		autoscale := d.AutoScaling != nil && d.AutoScaling.Enabled != nil && *d.AutoScaling.Enabled
		if d.Replicas != nil {
			x.carry(dp.Child("replicas"), vpath("pilot.replicaCount"), *d.Replicas)
			if !autoscale {
				x.carry(dp.Child("replicas"), vpath("pilot.autoscaleEnabled"), false)
			}
		}
		if as := d.AutoScaling; as != nil {
			ap := dp.Child("autoScaling")
			if as.Enabled != nil {
				x.carry(ap.Child("enabled"), vpath("pilot.autoscaleEnabled"), *as.Enabled)
			}
			if as.MinReplicas != nil {
				x.carry(ap.Child("minReplicas"), vpath("pilot.autoscaleMin"), *as.MinReplicas)
			}
			if as.MaxReplicas != nil {
				x.carry(ap.Child("maxReplicas"), vpath("pilot.autoscaleMax"), *as.MaxReplicas)
			}
			if as.TargetCPUUtilizationPercentage != nil {
				x.carry(ap.Child("targetCPUUtilizationPercentage"), vpath("pilot.cpu.targetAverageUtilization"),
					*as.TargetCPUUtilizationPercentage)
			}
		}
		if s := d.Strategy; s != nil {
			sp := dp.Child("strategy")
			switch {
			case s.Type == appsv1.RecreateDeploymentStrategyType:
				x.warn(sp.Child("type"), "istiod is always updated with a rolling update upstream: not carried over")
			case s.RollingUpdate != nil:
				if s.RollingUpdate.MaxSurge != nil {
					x.carry(sp.Child("rollingUpdate", "maxSurge"), vpath("pilot.rollingMaxSurge"),
						jsonValue(s.RollingUpdate.MaxSurge))
				}
				if s.RollingUpdate.MaxUnavailable != nil {
					x.carry(sp.Child("rollingUpdate", "maxUnavailable"), vpath("pilot.rollingMaxUnavailable"),
						jsonValue(s.RollingUpdate.MaxUnavailable))
				}
			}
		}
	}
	if pod := c.Pod; pod != nil {
		pp := p.Child("pod")
		if md := pod.Metadata; md != nil {
			if len(md.Annotations) > 0 {
				x.carry(pp.Child("metadata", "annotations"), vpath("pilot.podAnnotations"), md.Annotations)
			}
			if len(md.Labels) > 0 {
				x.carry(pp.Child("metadata", "labels"), vpath("pilot.podLabels"), md.Labels)
			}
		}
		if len(pod.NodeSelector) > 0 {
			x.carry(pp.Child("nodeSelector"), vpath("pilot.nodeSelector"), pod.NodeSelector)
		}
		if len(pod.Tolerations) > 0 {
			x.carry(pp.Child("tolerations"), vpath("pilot.tolerations"), jsonValue(pod.Tolerations))
		}
		if pod.PriorityClassName != "" {
			x.warn(pp.Child("priorityClassName"), "istiod has no priority class setting of its own upstream: "+
				"set spec.values.global.priorityClassName (applies to every component) if you need it")
		}
		if pod.Affinity != nil {
			x.warn(pp.Child("affinity"), "OpenShift Service Mesh 2's affinity format is not carried over: write "+
				"a Kubernetes affinity under spec.values.pilot.affinity")
		}
	}
	if ct := c.Container; ct != nil {
		cp := p.Child("container")
		if ct.Resources != nil {
			x.carry(cp.Child("resources"), vpath("pilot.resources"), resourcesValue(ct.Resources))
		}
		for _, k := range sortedKeys(ct.Env) {
			x.carry(cp.Child("env", k), Path{"pilot", "env", k}, ct.Env[k])
		}
		x.dropImageFields(cp, ct)
		if ct.ImagePullPolicy != "" || len(ct.ImagePullSecrets) > 0 {
			x.warn(cp, "istiod has no image pull settings of its own upstream: set "+
				"spec.values.global.imagePullPolicy and imagePullSecrets (apply to every component)")
		}
	}
}
