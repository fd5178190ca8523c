package ossm2

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// neverMember tells whether OpenShift Service Mesh 2 would refuse a namespace as a mesh member.
func (x *cpConv) neverMember(ns string) bool {
	switch {
	case ns == x.ns, ns == "kube", ns == "openshift", ns == x.c.opts.OperatorNamespace:
		return true
	case strings.HasPrefix(ns, "kube-"), strings.HasPrefix(ns, "openshift-"), strings.HasPrefix(ns, "ibm-"):
		return true
	}
	return false
}

// membership is the set of member namespaces and where each came from.
type membership struct {
	from map[string]Location
	// explicit tells whether a namespace was named (as opposed to matched by "*" or a selector).
	explicit map[string]bool
}

func (m *membership) add(ns string, from Location, explicit bool) {
	if _, ok := m.from[ns]; !ok {
		m.from[ns] = from
	}
	m.explicit[ns] = m.explicit[ns] || explicit
}

// members computes the member namespaces and generates their label patches (discovery and injection).
func (x *cpConv) members(in *inputs) {
	var smmr *smmrInput
	for _, r := range in.smmrs {
		if r.meta.Namespace == x.ns && r.meta.Name == "default" {
			smmr = r
		}
	}
	nsLabels := map[string]map[string]string{}
	for _, n := range in.namespaces {
		nsLabels[n.meta.Name] = n.meta.Labels
	}
	known := len(in.namespaces) > 0
	knownNames := sortedKeys(nsLabels)
	m := &membership{from: map[string]Location{}, explicit: map[string]bool{}}
	var unevaluated []metav1.LabelSelector
	var unevaluatedAt []Location

	switch {
	case smmr != nil && smmr.hasConfigured:
		for i, ns := range smmr.configured {
			m.add(ns, x.c.at(smmr.doc, Path{"status", "configuredMembers"}.Index(i)), true)
		}
		x.c.rep.add(SeverityInfo, x.c.at(smmr.doc, Path{"status", "configuredMembers"}), "the members are read "+
			"from status.configuredMembers, which OpenShift Service Mesh 2 computed from spec.members, "+
			"spec.memberSelectors and the ServiceMeshMembers")
	case smmr != nil:
		for i, ns := range smmr.spec.Members {
			at := x.c.at(smmr.doc, Path{"spec", "members"}.Index(i))
			if ns != "*" {
				m.add(ns, at, true)
				continue
			}
			if known {
				for _, n := range knownNames {
					m.add(n, at, false)
				}
				continue
			}
			x.c.rep.add(SeverityWarning, at, "members [\"*\"] makes every namespace a member, but no Namespace "+
				"objects are in the input: add them (oc get namespaces -o yaml) or use --from-cluster, or label "+
				"the namespaces yourself (%s)", x.labelCommand("<namespace>"))
		}
		for i, sel := range smmr.spec.MemberSelectors {
			at := x.c.at(smmr.doc, Path{"spec", "memberSelectors"}.Index(i))
			s, err := metav1.LabelSelectorAsSelector(&sel)
			if err != nil {
				x.c.rep.add(SeverityError, at, "invalid label selector: %v", err)
				continue
			}
			if known {
				for _, n := range knownNames {
					if s.Matches(labels.Set(nsLabels[n])) {
						m.add(n, at, false)
					}
				}
				continue
			}
			unevaluated = append(unevaluated, sel)
			unevaluatedAt = append(unevaluatedAt, at)
			x.c.rep.add(SeverityWarning, at, "member selector %q cannot be evaluated without the namespaces: the "+
				"selector is added to the Istio's discoverySelectors, but injection needs a label on each matching "+
				"namespace: kubectl label namespace -l '%s' %s=%s %s=true --overwrite (or add the Namespace "+
				"objects to the input, or use --from-cluster)", s.String(), s.String(), RevisionLabel, x.name,
				IgnoreNamespaceLabel)
		}
	}
	for _, smm := range in.smms {
		ref := smm.spec.ControlPlaneRef
		if ref.Namespace == x.ns && ref.Name == x.in.meta.Name {
			m.add(smm.meta.Namespace, x.c.at(smm.doc, Path{"spec", "controlPlaneRef"}), true)
		}
	}
	names := sortedKeys(m.from)
	var members []string
	for _, ns := range names {
		if x.neverMember(ns) {
			if !m.explicit[ns] {
				continue
			}
			x.c.rep.add(SeverityWarning, m.from[ns], "namespace %s can never be a mesh member (control plane, "+
				"kube-*, openshift-*, ibm-* or operator namespace): it is left out", ns)
			continue
		}
		members = append(members, ns)
	}
	if smmr == nil && len(members) == 0 && !x.clusterWide {
		x.c.rep.add(SeverityWarning, x.in.doc.Loc, "no ServiceMeshMemberRoll default in namespace %s and no "+
			"ServiceMeshMember for this control plane are in the input: no namespace is a member; add them to the "+
			"input to have their namespaces labelled", x.ns)
	}

	if !x.clusterWide {
		x.discovery = append(x.discovery, metav1.LabelSelector{MatchLabels: map[string]string{DiscoveryLabel: x.name}})
		x.discovery = append(x.discovery, unevaluated...)
		x.record(x.src(Path{"mode"}), Target{ObjectRef: x.istio, Path: "spec.values.meshConfig.discoverySelectors"},
			"MultiTenant: members are selected by the label "+DiscoveryLabel+"="+x.name)
		for i, at := range unevaluatedAt {
			x.record(at, Target{ObjectRef: x.istio, Path: fmt.Sprintf("spec.values.meshConfig.discoverySelectors[%d]",
				len(x.discovery)-len(unevaluated)+i)}, "")
		}
		x.c.rep.add(SeverityWarning, x.src(Path{"mode"}), "MultiTenant: upstream istiod reads the whole cluster "+
			"(cluster-wide RBAC); the discoverySelectors only limit what it processes to the namespaces labelled "+
			"%s=%s, not what it can read", DiscoveryLabel, x.name)
		x.labelNamespace(x.ns, map[string]string{DiscoveryLabel: x.name}, x.src(Path{"mode"}),
			"Control plane namespace: selected by the Istio's discoverySelectors")
	}
	for _, ns := range members {
		l := map[string]string{RevisionLabel: x.name, IgnoreNamespaceLabel: "true"}
		if !x.clusterWide {
			l[DiscoveryLabel] = x.name
		}
		x.labelNamespace(ns, l, m.from[ns], "Mesh member: injected by the Istio "+x.name+
			"; ignored by OpenShift Service Mesh 2 while both coexist")
		if known {
			if lb, ok := nsLabels[ns]; !ok {
				x.c.rep.add(SeverityInfo, m.from[ns], "namespace %s is a member but no Namespace object for it is "+
					"in the input: check that it exists", ns)
			} else {
				if _, has := lb["istio-injection"]; has {
					x.c.rep.add(SeverityWarning, m.from[ns], "namespace %s has the label istio-injection, which "+
						"would select another injector: remove it (kubectl label namespace %s istio-injection-)", ns, ns)
				}
				if x.clusterWide && len(x.discovery) > 0 && !matchesAny(x.discovery, lb) {
					x.c.rep.add(SeverityWarning, m.from[ns], "namespace %s is a member but matches none of the "+
						"discoverySelectors, so the Istio will not see it: give it a label they select", ns)
				}
			}
		}
	}
	if len(members) > 0 {
		steps := []string{
			fmt.Sprintf("apply the Istio and wait for it (kubectl wait istio/%s --for=condition=Ready)", x.name),
			"apply the other objects (Namespace objects only add labels)",
		}
		if !known {
			steps = append(steps, "remove the label istio-injection where namespaces have it "+
				"(kubectl label namespace <namespace> istio-injection-)")
		}
		steps = append(steps,
			"restart the workloads of each member namespace to move them to the new control plane (kubectl "+
				"rollout restart deployment -n <namespace>): "+strings.Join(members, ", "),
			"once every workload has moved, delete the ServiceMeshMemberRoll, ServiceMeshMembers and "+
				"ServiceMeshControlPlane")
		for i := range steps {
			steps[i] = fmt.Sprintf("%d. %s", i+1, steps[i])
		}
		x.c.rep.add(SeverityInfo, x.in.doc.Loc, "next steps: %s", strings.Join(steps, "; "))
	}
}

// labelNamespace adds labels to the Namespace object of ns, generated once per namespace in the order of the
// first call.
func (x *cpConv) labelNamespace(ns string, l map[string]string, from Location, comment string) {
	obj := x.nsObjects[ns]
	if obj == nil {
		obj = newObject("v1", "Namespace", "", ns)
		x.nsObjects[ns] = obj
		x.namespaces = append(x.namespaces, Object{Unstructured: obj, Comment: comment +
			". Only adds labels: apply with kubectl apply (or server-side apply), which keeps the other labels."})
	}
	merged := obj.GetLabels()
	if merged == nil {
		merged = map[string]string{}
	}
	for _, k := range sortedKeys(l) {
		merged[k] = l[k]
		x.record(from, Target{ObjectRef: ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: ns},
			Path: Path{"metadata", "labels", k}.String()}, "")
	}
	obj.SetLabels(merged)
}

func (x *cpConv) labelCommand(ns string) string {
	cmd := fmt.Sprintf("kubectl label namespace %s %s=%s %s=true", ns, RevisionLabel, x.name, IgnoreNamespaceLabel)
	if !x.clusterWide {
		cmd += fmt.Sprintf(" %s=%s", DiscoveryLabel, x.name)
	}
	return cmd
}

// matchesAny tells whether labels match one of the selectors; invalid selectors match nothing.
func matchesAny(selectors []metav1.LabelSelector, l map[string]string) bool {
	for i := range selectors {
		s, err := metav1.LabelSelectorAsSelector(&selectors[i])
		if err == nil && s.Matches(labels.Set(l)) {
			return true
		}
	}
	return false
}
