package main

import (
	"fmt"
	"go/ast"
	"strings"
)

// chartField is a setting that Istio's charts read but values_types.proto lacks. Without a field for it, Sail's
// typed values would drop the setting, whether a profile or the user set it.
type chartField struct {
	message  string // Go name of the message of the values package it belongs to, e.g. PilotConfig
	goName   string
	jsonName string
	kind     string // one of the keys of chartFieldShapes
	doc      string
}

// chartFieldShapes maps the kinds of chart fields to the protobuf shapes they are rendered as.
var chartFieldShapes = map[string]shape{
	"string":    {elem: typeRef{kind: kindScalar, scalar: "string"}},
	"bool":      {elem: typeRef{kind: kindWellKnown, wkt: "BoolValue"}},
	"int64":     {elem: typeRef{kind: kindWellKnown, wkt: "Int64Value"}},
	"object":    {elem: typeRef{kind: kindWellKnown, wkt: "Struct"}},
	"objects":   {repeated: true, elem: typeRef{kind: kindWellKnown, wkt: "Struct"}},
	"stringMap": {isMap: true, mapKey: "string", elem: typeRef{kind: kindScalar, scalar: "string"}},
}

// chartFields are the settings of the charts' values.yaml files and profiles of the supported Istio versions that
// values_types.proto lacks (internal/pipeline/values checks that every one of them has a field). When Istio adds
// one to the proto, the generator fails until it is removed here.
var chartFields = []chartField{
	{"Values", "SeLinuxOptions", "seLinuxOptions", "object",
		"SELinux options of the istio-cni-node pods, at the top level where Istio's profiles set them (the OpenShift profile: type spc_t) and where the cni chart reads them; the istiod chart does not use them. On an IstioCNI, set cni.seLinuxOptions."},
	{"PilotConfig", "TrustedZtunnelName", "trustedZtunnelName", "string",
		"Name of the ztunnel ServiceAccount that istiod trusts (default ztunnel); set it when ztunnel is installed under another name."},
	{"PilotConfig", "TerminationMessagePolicy", "terminationMessagePolicy", "string",
		"terminationMessagePolicy of the discovery container (Istio's OpenShift profile sets FallbackToLogsOnError)."},
	{"PilotConfig", "DeploymentAnnotations", "deploymentAnnotations", "stringMap",
		"Annotations added to the istiod Deployment."},
	{"PilotConfig", "InitContainers", "initContainers", "objects",
		"Init containers added to the istiod pod."},
	{"PilotConfig", "Pdb", "pdb", "object",
		"istiod's PodDisruptionBudget: minAvailable or maxUnavailable (never both), and unhealthyPodEvictionPolicy."},
	{"PilotConfig", "SidecarInjectorWebhookAnnotations", "sidecarInjectorWebhookAnnotations", "stringMap",
		"Annotations added to the sidecar injector's MutatingWebhookConfigurations."},
	{"ProxyInitConfig", "ForceApplyIptables", "forceApplyIptables", "bool",
		"Bypasses iptables idempotency handling and applies the rules regardless of the table state; only to work around an issue of that handling."},
	{"WaypointConfig", "Tolerations", "tolerations", "objects",
		"Tolerations of the waypoint proxy pods."},
	{"CNIConfig", "SeLinuxOptions", "seLinuxOptions", "object",
		"SELinux options of the istio-cni-node pods (Istio's OpenShift profile sets type spc_t)."},
	{"CNIConfig", "TerminationGracePeriodSeconds", "terminationGracePeriodSeconds", "int64",
		"terminationGracePeriodSeconds of the istio-cni-node pods; more time for CNI cleanup during rolling updates."},
	{"CNIConfig", "Tolerations", "tolerations", "objects",
		"Tolerations of the istio-cni-node pods."},
	{"CNIConfig", "UpdateStrategy", "updateStrategy", "object",
		"Update strategy of the istio-cni-node DaemonSet."},
	{"CNIAmbientConfig", "EnablementSelectors", "enablementSelectors", "objects",
		"Pod and namespace selectors that identify the pods ambient mode captures."},
	{"CNIAmbientConfig", "ShareHostNetworkNamespace", "shareHostNetworkNamespace", "bool",
		"Whether the CNI agent always shares the network namespace of its node (ambient mode)."},
	{"CNIAmbientConfig", "EnableAmbientDetectionRetry", "enableAmbientDetectionRetry", "bool",
		"Whether the CNI agent retries checking if a pod is ambient-enabled after errors."},
}

// chartFieldNote ends the doc comment of every chart field.
const chartFieldNote = "Not in Istio's values schema (values_types.proto); Istio's charts read it."

// addChartFields appends the chart fields of a message of the values package to its fields and marks them used.
func addChartFields(d *typeDecl, fields []*protoField, extra []chartField, used map[int]bool) ([]*protoField, error) {
	if d.pkg.path != valuesPkgPath {
		return fields, nil
	}
	for i, c := range extra {
		if c.message != d.name {
			continue
		}
		for _, f := range fields {
			if f.jsonName == c.jsonName {
				return nil, fmt.Errorf("%s.%s is in Istio's values schema now; remove it from chartFields", c.message, c.jsonName)
			}
		}
		s, ok := chartFieldShapes[c.kind]
		if !ok {
			return nil, fmt.Errorf("chart field %s.%s: unknown kind %q", c.message, c.jsonName, c.kind)
		}
		doc := &ast.CommentGroup{}
		for _, line := range []string{c.doc, "", chartFieldNote} {
			doc.List = append(doc.List, &ast.Comment{Text: strings.TrimSpace("// " + line)})
		}
		fields = append(fields, &protoField{goName: c.goName, jsonName: c.jsonName, doc: doc, shape: s})
		used[i] = true
	}
	return fields, nil
}

// unusedChartFields names the chart fields whose message was not emitted.
func unusedChartFields(extra []chartField, used map[int]bool) error {
	var missing []string
	for i, c := range extra {
		if !used[i] {
			missing = append(missing, c.message+"."+c.jsonName)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("chart fields of messages that are not in Istio's values schema: %s", strings.Join(missing, ", "))
	}
	return nil
}
