package ossm2

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// ossmIstioVersions maps OpenShift Service Mesh 2 control plane versions to the Istio minor version they run.
var ossmIstioVersions = map[string]string{
	"v2.0": "v1.6.0", "v2.1": "v1.9.0", "v2.2": "v1.12.0", "v2.3": "v1.14.0", "v2.4": "v1.16.0", "v2.5": "v1.18.0",
	"v2.6": "v1.20.0",
}

// cpConv converts one ServiceMeshControlPlane and its members.
type cpConv struct {
	c    *converter
	in   *smcpInput
	spec *smcpSpec
	// name is the Istio's name, ns the control plane namespace.
	name, ns string
	istio    ObjectRef
	values   *valuesTree
	// providers and discovery collect meshConfig.extensionProviders and meshConfig.discoverySelectors.
	providers []sailv1.MeshConfigExtensionProvider
	discovery []metav1.LabelSelector
	// clusterWide is true for mode ClusterWide.
	clusterWide bool
	// cni is true when the control plane's pods are set up by CNI.
	cni bool
	// policies, gateways and namespaces are generated objects, in that output order after the Istio.
	policies, gateways, namespaces []Object
	objects                        []Object
	// nsObjects are the generated Namespace objects by name.
	nsObjects map[string]*unstructured.Unstructured
}

func newCPConv(c *converter, in *smcpInput) *cpConv {
	name := istioName(in.meta.Name, in.meta.Namespace)
	return &cpConv{
		c: c, in: in, spec: &in.spec, name: name, ns: in.meta.Namespace,
		istio:  ObjectRef{APIVersion: sailv1.GroupVersion.String(), Kind: sailv1.IstioKind, Name: name},
		values: newValuesTree(), nsObjects: map[string]*unstructured.Unstructured{},
	}
}

// src locates a field of the effective spec: under spec when it is set there, else under status.appliedSpec
// (where OpenShift Service Mesh 2 put the settings of the profiles).
func (x *cpConv) src(p Path) Location {
	l := x.in.doc.Loc
	prefix := Path{"spec"}
	if x.in.usesApplied() {
		if _, ok := lookup(x.in.rawSpec, p); !ok {
			prefix = Path{"status", "appliedSpec"}
		}
	}
	l.Path = prefix.Join(p).String()
	return l
}

// unset locates a field that is not set, for findings about OpenShift Service Mesh 2 defaults.
func (x *cpConv) unset(p Path) Location {
	l := x.in.doc.Loc
	l.Path = Path{"spec"}.Join(p).String()
	return l
}

// carry sets a value and records where it came from.
func (x *cpConv) carry(from Path, to Path, v any) {
	x.values.set(to, v)
	x.record(x.src(from), Target{ObjectRef: x.istio, Path: Path{"spec", "values"}.Join(to).String()}, "")
}

// carryDefault sets a value that OpenShift Service Mesh 2 applied implicitly; from is the field it stands for
// (nil for built-in behaviour without a field).
func (x *cpConv) carryDefault(from Path, to Path, v any, note string) {
	x.values.set(to, v)
	loc := x.in.doc.Loc
	if from != nil {
		loc = x.unset(from)
	}
	x.record(loc, Target{ObjectRef: x.istio, Path: Path{"spec", "values"}.Join(to).String()}, note)
}

func (x *cpConv) record(from Location, to Target, note string) {
	x.c.rep.Carried = append(x.c.rep.Carried, Carried{From: from, To: to, Note: note})
}

func (x *cpConv) warn(from Path, format string, args ...any) {
	x.c.rep.add(SeverityWarning, x.src(from), format, args...)
}

func (x *cpConv) note(from Path, format string, args ...any) {
	x.c.rep.add(SeverityInfo, x.src(from), format, args...)
}

func (x *cpConv) block(from Path, format string, args ...any) {
	x.c.rep.add(SeverityBlocker, x.src(from), format, args...)
}

func (x *cpConv) fail(from Path, format string, args ...any) {
	x.c.rep.add(SeverityError, x.src(from), format, args...)
}

// duration checks a duration input and returns it as written (Istio reads "300s" but not every form Go prints);
// a bad one is an error naming the input path.
func (x *cpConv) duration(from Path, s string) (string, bool) {
	if _, err := time.ParseDuration(s); err != nil {
		x.fail(from, "%q is not a duration (e.g. 10s, 5m, 1h30m): fix the value", s)
		return "", false
	}
	return s, true
}

func (x *cpConv) convert(in *inputs) {
	x.version()
	x.profiles()
	x.mode()
	x.implicitDefaults()
	x.general()
	x.meshConfig()
	x.cluster()
	x.policyAndTelemetry()
	x.tracing()
	x.proxy()
	x.security()
	x.runtime()
	x.addons()
	x.gatewaysConv(in.gateways)
	x.members(in)
	x.techPreview()
	x.finish()
}

func (x *cpConv) version() {
	p := Path{"version"}
	v := x.spec.Version
	from, known := ossmIstioVersions[v]
	switch {
	case v == "":
		from = ossmIstioVersions["v2.6"]
		x.note(p, "no version is set: assumed v2.6 (Istio 1.20)")
	case strings.HasPrefix(v, "v1."):
		x.block(p, "version %s is an OpenShift Service Mesh 1 control plane (Mixer era): upgrade the "+
			"ServiceMeshControlPlane to v2.6 first, then migrate", v)
		return
	case !known:
		from = ossmIstioVersions["v2.6"]
		x.warn(p, "unknown OpenShift Service Mesh version %s (known: v2.0 to v2.6): converted as v2.6", v)
	}
	target := x.c.target.Name
	x.record(x.src(p), Target{ObjectRef: x.istio, Path: "spec.version"}, "Istio "+strings.TrimSuffix(from, ".0")+
		" -> "+target)
	jump, err := versions.MinorDistance(from, target)
	if err != nil {
		jump = 0
	}
	msg := fmt.Sprintf("OpenShift Service Mesh %s runs Istio %s; the Istio runs %s, %d minor versions later, which "+
		"cannot be reached by an in-place upgrade. The Istio is a second control plane next to the "+
		"ServiceMeshControlPlane: move workloads to it namespace by namespace (relabel, then restart them), then "+
		"delete the ServiceMeshControlPlane", defaultString(v, "v2.6"), strings.TrimSuffix(from, ".0"), target, jump)
	if x.c.opts.Version == "" {
		x.warn(p, "%s. Pass --version to choose the target version and acknowledge the jump", msg)
	} else {
		x.note(p, "%s", msg)
	}
}

func (x *cpConv) profiles() {
	p := Path{"profiles"}
	profiles := x.spec.Profiles
	if len(profiles) == 0 {
		profiles = []string{"default"}
	}
	for i, name := range profiles {
		if name == "default" {
			continue
		}
		if x.in.usesApplied() {
			x.note(p.Index(i), "profile %s: its settings are read from status.appliedSpec, where OpenShift "+
				"Service Mesh 2 applied them", name)
		} else {
			x.warn(p.Index(i), "profile %s: its settings are not in the input, since status.appliedSpec is "+
				"missing; export the control plane with its status (oc get smcp -n %s %s -o yaml) or use "+
				"--from-cluster, so that the profile's settings are converted", name, x.ns, x.in.meta.Name)
		}
	}
	if !x.in.usesApplied() {
		x.c.rep.add(SeverityWarning, x.in.doc.Loc, "status.appliedSpec is missing: settings that OpenShift Service "+
			"Mesh 2 took from its profiles (e.g. the istio-ingressgateway and istio-egressgateway gateways) are not "+
			"converted, only its documented implicit defaults are assumed; export the control plane with its "+
			"status (oc get smcp -o yaml) or use --from-cluster")
	}
	if x.c.opts.Platform == PlatformOpenShift {
		x.record(x.src(p), Target{ObjectRef: x.istio, Path: "spec.profile"}, "OpenShift Service Mesh 2 ran on "+
			"OpenShift: profile openshift")
	}
}

func (x *cpConv) mode() {
	p := Path{"mode"}
	switch x.spec.Mode {
	case "", "MultiTenant":
		if v, ok := x.spec.TechPreview["controlPlaneMode"].(string); ok && v == "ClusterScoped" {
			x.clusterWide = true
			x.note(Path{"techPreview", "controlPlaneMode"}, "controlPlaneMode ClusterScoped (technology preview) "+
				"is converted like mode ClusterWide")
		}
	case "ClusterWide":
		x.clusterWide = true
	case "Federation":
		x.fail(p, "Federation is not a mode (federation is set up with ServiceMeshPeer resources): use "+
			"MultiTenant or ClusterWide")
	default:
		x.fail(p, "unknown mode %q: use MultiTenant or ClusterWide", x.spec.Mode)
	}
}

// implicitDefaults carries over what OpenShift Service Mesh 2 always configured and upstream does not.
func (x *cpConv) implicitDefaults() {
	note := "OpenShift Service Mesh 2 built-in default"
	for _, k := range []string{"ISTIO_META_DNS_CAPTURE", "ISTIO_META_DNS_AUTO_ALLOCATE", "PROXY_XDS_VIA_AGENT"} {
		x.carryDefault(nil, Path{"meshConfig", "defaultConfig", "proxyMetadata", k}, "true", note+" (DNS capture)")
	}
	x.carryDefault(nil, vpath("meshConfig.ingressControllerMode"), "OFF", note+" (no Kubernetes Ingress support)")
}

func (x *cpConv) general() {
	g := x.spec.General
	if g == nil {
		return
	}
	if l := g.Logging; l != nil {
		if len(l.ComponentLevels) > 0 {
			x.carry(Path{"general", "logging", "componentLevels"}, vpath("global.logging.level"),
				sortedLabelString(l.ComponentLevels))
		}
		if l.LogAsJSON != nil {
			x.carry(Path{"general", "logging", "logAsJSON"}, vpath("global.logAsJson"), *l.LogAsJSON)
		}
	}
	if g.ValidationMessages != nil {
		x.carry(Path{"general", "validationMessages"}, vpath("global.istiod.enableAnalysis"), *g.ValidationMessages)
	}
}

func (x *cpConv) meshConfig() {
	for i, prov := range x.spec.ExtensionProviders {
		x.addProvider(Path{"extensionProviders"}.Index(i), prov)
	}
	mc := x.spec.MeshConfig
	if mc == nil {
		return
	}
	for i, prov := range mc.ExtensionProviders {
		x.addProvider(Path{"meshConfig", "extensionProviders"}.Index(i), prov)
	}
	if len(mc.DiscoverySelectors) > 0 {
		p := Path{"meshConfig", "discoverySelectors"}
		if !x.clusterWide {
			x.warn(p, "discoverySelectors are ignored by OpenShift Service Mesh 2 in MultiTenant mode and are not "+
				"carried over; the Istio selects the member namespaces by the %s label instead", DiscoveryLabel)
			return
		}
		x.discovery = append(x.discovery, mc.DiscoverySelectors...)
		x.record(x.src(p), Target{ObjectRef: x.istio, Path: "spec.values.meshConfig.discoverySelectors"}, "")
	}
}

// addProvider appends an extension provider, renaming it when the name is taken.
func (x *cpConv) addProvider(from Path, prov sailv1.MeshConfigExtensionProvider) {
	for _, p := range x.providers {
		if p.Name == prov.Name {
			x.warn(from.Child("name"), "extension provider %q is defined twice; the second one is dropped", prov.Name)
			return
		}
	}
	x.providers = append(x.providers, prov)
	if from != nil {
		x.record(x.src(from), Target{ObjectRef: x.istio, Path: fmt.Sprintf(
			"spec.values.meshConfig.extensionProviders[%d]", len(x.providers)-1)}, "")
	}
}

func (x *cpConv) cluster() {
	cl := x.spec.Cluster
	if cl == nil {
		return
	}
	p := Path{"cluster"}
	if cl.Name != "" {
		x.carry(p.Child("name"), vpath("global.multiCluster.clusterName"), cl.Name)
	}
	if cl.Network != "" {
		x.carry(p.Child("network"), vpath("global.network"), cl.Network)
	}
	if mc := cl.MultiCluster; mc != nil {
		if mc.Enabled != nil && *mc.Enabled {
			x.warn(p.Child("multiCluster", "enabled"), "OpenShift Service Mesh 2 multi-cluster uses the legacy "+
				"model (meshNetworks, .global names); set up upstream multi-cluster instead (multi-primary or "+
				"primary-remote: remote secrets and an east-west gateway), and check the meshNetworks carried over")
		}
		if len(mc.MeshNetworks) > 0 {
			networks := map[string]any{}
			for _, name := range sortedKeys(mc.MeshNetworks) {
				n := mc.MeshNetworks[name]
				var eps, gws []any
				for _, e := range n.Endpoints {
					ep := map[string]any{}
					if e.FromCIDR != "" {
						ep["fromCidr"] = e.FromCIDR
					}
					if e.FromRegistry != "" {
						ep["fromRegistry"] = e.FromRegistry
					}
					eps = append(eps, ep)
				}
				for _, g := range n.Gateways {
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
				net := map[string]any{}
				if eps != nil {
					net["endpoints"] = eps
				}
				if gws != nil {
					net["gateways"] = gws
				}
				networks[name] = net
			}
			x.carry(p.Child("multiCluster", "meshNetworks"), vpath("global.meshNetworks"), networks)
		}
	}
	if me := cl.MeshExpansion; me != nil {
		if on, _ := me["enabled"].(bool); on {
			x.warn(p.Child("meshExpansion"), "mesh expansion is not carried over: register virtual machines with "+
				"WorkloadGroup and WorkloadEntry resources and expose istiod through an east-west gateway")
		}
	}
}

// techPreview copies the raw Helm values that Istio's values schema knows, last, so that they win as they did in
// OpenShift Service Mesh 2.
func (x *cpConv) techPreview() {
	tp := x.spec.TechPreview
	if len(tp) == 0 {
		return
	}
	base := Path{"techPreview"}
	special := map[string]string{
		"gatewayAPI": "Gateway API support is built into upstream Istio: install the Gateway API CRDs and use " +
			"GatewayClass istio; nothing to carry over",
		"rateLimiting": "the OpenShift Service Mesh rate limiting service is not part of upstream Istio: run a " +
			"rate limit service and configure it with EnvoyFilter, or use local rate limiting",
		"wasmExtensions":   "the ServiceMeshExtension cacher is not part of upstream Istio: use WasmPlugin resources",
		"controlPlaneMode": "",
	}
	for _, k := range sortedKeys(tp) {
		if msg, ok := special[k]; ok {
			if msg != "" {
				x.warn(base.Child(k), "%s", msg)
			}
			continue
		}
		walkLeaves(tp[k], Path{k}, func(rel Path, v any) {
			tree := map[string]any{}
			(&valuesTree{root: tree}).set(rel, v)
			problems := checkTree(tree, reflectTypeOf(sailv1.Values{}), nil)
			switch {
			case len(problems) == 0:
				x.carry(base.Join(rel), rel, v)
			case problems[0].Unknown:
				x.warn(base.Join(rel), "Istio's values have no %s: not carried over", problems[0].Path)
			default:
				x.warn(base.Join(rel), "does not fit Istio's values (%s: %s): not carried over", problems[0].Path,
					problems[0].Message)
			}
		})
	}
}

// walkLeaves calls f for every value in tree that is not a non-empty object, with its path.
func walkLeaves(tree any, at Path, f func(Path, any)) {
	m, ok := tree.(map[string]any)
	if !ok || len(m) == 0 {
		if tree != nil {
			f(at, tree)
		}
		return
	}
	for _, k := range sortedKeys(m) {
		walkLeaves(m[k], at.Child(k), f)
	}
}

// finish builds the Istio and assembles the control plane's objects.
func (x *cpConv) finish() {
	if len(x.providers) > 0 {
		x.values.set(vpath("meshConfig.extensionProviders"), x.providers)
	}
	if len(x.discovery) > 0 {
		x.values.set(vpath("meshConfig.discoverySelectors"), x.discovery)
	}
	if x.cni && x.c.opts.Platform == PlatformKubernetes {
		x.values.set(vpath("pilot.cni.enabled"), true)
	}
	// The values are checked against Istio's typed values, but written as collected, so that strings such as
	// durations stay as the user wrote them (the typed form would print 300s as 5m0s).
	vals, problems := x.values.typed()
	for _, p := range problems {
		x.c.rep.add(SeverityError, Location{Kind: x.istio.Kind, Name: x.istio.Name, Path: p.Path.String()},
			"the generated value does not fit Istio's values schema (%s): fix the input field it comes from "+
				"(see the carried-over fields)", p.Message)
	}
	istio := &sailv1.Istio{
		TypeMeta:   metav1.TypeMeta{APIVersion: sailv1.GroupVersion.String(), Kind: sailv1.IstioKind},
		ObjectMeta: metav1.ObjectMeta{Name: x.name},
		Spec: sailv1.IstioSpec{
			Version:   x.c.target.Name,
			Namespace: x.ns,
			Values:    vals,
		},
	}
	if x.c.opts.Platform == PlatformOpenShift {
		istio.Spec.Profile = "openshift"
	}
	u, err := toUnstructured(istio)
	if err != nil {
		x.c.rep.add(SeverityError, x.in.doc.Loc, "internal error building the Istio: %v", err)
		return
	}
	if vals != nil && len(x.values.root) > 0 {
		u.Object["spec"].(map[string]any)["values"] = x.values.root
	}
	src := fmt.Sprintf("ServiceMeshControlPlane %s/%s", x.ns, x.in.meta.Name)
	x.objects = append(x.objects, Object{Unstructured: u, Comment: "Control plane converted from " + src})
	x.objects = append(x.objects, x.policies...)
	x.objects = append(x.objects, x.gateways...)
	x.objects = append(x.objects, x.namespaces...)
}

// jsonValue converts a typed value to its JSON tree form for the values tree.
func jsonValue(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	out, err := decodeJSONTree(data)
	if err != nil {
		return nil
	}
	return out
}
