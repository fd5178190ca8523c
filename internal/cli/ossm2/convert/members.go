package convert

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
)

// memberInputs are the inputs the members of a control plane are computed from.
type memberInputs struct {
	// smmr is the member roll named default in the control plane namespace, if any.
	smmr *input.SMMR
	smms []*input.SMM
	// nsLabels are the labels of the namespaces in the input, by name; known tells whether there are any.
	nsLabels map[string]map[string]string
	known    bool
}

func newMemberInputs(ns string, in *input.Set) *memberInputs {
	mi := &memberInputs{smms: in.SMMs, nsLabels: map[string]map[string]string{}, known: len(in.Namespaces) > 0}
	for _, r := range in.SMMRs {
		if r.Meta.Namespace == ns && r.Meta.Name == "default" {
			mi.smmr = r
		}
	}
	for _, n := range in.Namespaces {
		mi.nsLabels[n.Meta.Name] = n.Meta.Labels
	}
	return mi
}

// membership is the set of member namespaces and where each came from.
type membership struct {
	from map[string]report.Location
	// explicit tells whether a namespace was named (as opposed to matched by "*" or a selector).
	explicit map[string]bool
	// unevaluated are the member selectors that could not be evaluated without the namespaces, and where each is.
	unevaluated   []metav1.LabelSelector
	unevaluatedAt []report.Location
}

func (m *membership) add(ns string, from report.Location, explicit bool) {
	if _, ok := m.from[ns]; !ok {
		m.from[ns] = from
	}
	m.explicit[ns] = m.explicit[ns] || explicit
}

// convertMembers computes the member namespaces and generates their label patches (discovery and injection).
func convertMembers(p *plane, in *input.Set) {
	mi := newMemberInputs(p.ns, in)
	m := collectMembers(p, mi)
	members := eligibleMembers(p, m)
	if mi.smmr == nil && len(members) == 0 && !p.clusterWide {
		p.rep.Add(report.SeverityWarning, p.smcp.Doc.Loc, "no ServiceMeshMemberRoll default in namespace %s and no "+
			"ServiceMeshMember for this control plane are in the input: no namespace is a member; add them to the "+
			"input to have their namespaces labelled", p.ns)
	}
	if !p.clusterWide {
		multiTenantDiscovery(p, m)
	}
	for _, ns := range members {
		labelMember(p, ns, m.from[ns], mi)
	}
	if len(members) > 0 {
		nextSteps(p, members, mi.known)
	}
}

// collectMembers reads the members from the member roll (its status when it has one, else its members and
// selectors) and the members that name this control plane.
func collectMembers(p *plane, mi *memberInputs) *membership {
	m := &membership{from: map[string]report.Location{}, explicit: map[string]bool{}}
	switch smmr := mi.smmr; {
	case smmr != nil && smmr.HasConfigured:
		at := fieldpath.Path{"status", "configuredMembers"}
		for i, ns := range smmr.Configured {
			m.add(ns, smmr.Doc.At(at.Index(i)), true)
		}
		p.rep.Add(report.SeverityInfo, smmr.Doc.At(at), "the members are read from status.configuredMembers, "+
			"which OpenShift Service Mesh 2 computed from spec.members, spec.memberSelectors and the "+
			"ServiceMeshMembers")
	case smmr != nil:
		rollMembers(p, mi, m)
		rollSelectors(p, mi, m)
	}
	for _, smm := range mi.smms {
		ref := smm.Spec.ControlPlaneRef
		if ref.Namespace == p.ns && ref.Name == p.smcp.Meta.Name {
			m.add(smm.Meta.Namespace, smm.Doc.At(fieldpath.Path{"spec", "controlPlaneRef"}), true)
		}
	}
	return m
}

// rollMembers adds the member roll's spec.members; "*" stands for every namespace in the input.
func rollMembers(p *plane, mi *memberInputs, m *membership) {
	for i, ns := range mi.smmr.Spec.Members {
		at := mi.smmr.Doc.At(fieldpath.Path{"spec", "members"}.Index(i))
		switch {
		case ns != "*":
			m.add(ns, at, true)
		case mi.known:
			for _, n := range slices.Sorted(maps.Keys(mi.nsLabels)) {
				m.add(n, at, false)
			}
		default:
			p.rep.Add(report.SeverityWarning, at, "members [\"*\"] makes every namespace a member, but no Namespace "+
				"objects are in the input: add them (oc get namespaces -o yaml) or use --from-cluster, or label "+
				"the namespaces yourself (%s)", labelCommand(p, "<namespace>"))
		}
	}
}

// rollSelectors adds the namespaces that the member roll's spec.memberSelectors match; without the namespaces in
// the input, the selectors are kept to be added to the discovery selectors.
func rollSelectors(p *plane, mi *memberInputs, m *membership) {
	for i, sel := range mi.smmr.Spec.MemberSelectors {
		at := mi.smmr.Doc.At(fieldpath.Path{"spec", "memberSelectors"}.Index(i))
		s, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			p.rep.Add(report.SeverityError, at, "invalid label selector: %v", err)
			continue
		}
		if mi.known {
			for _, n := range slices.Sorted(maps.Keys(mi.nsLabels)) {
				if s.Matches(labels.Set(mi.nsLabels[n])) {
					m.add(n, at, false)
				}
			}
			continue
		}
		m.unevaluated = append(m.unevaluated, sel)
		m.unevaluatedAt = append(m.unevaluatedAt, at)
		p.rep.Add(report.SeverityWarning, at, "member selector %q cannot be evaluated without the namespaces: the "+
			"selector is added to the Istio's discoverySelectors, but injection needs a label on each matching "+
			"namespace: kubectl label namespace -l '%s' %s=%s %s=true --overwrite (or add the Namespace "+
			"objects to the input, or use --from-cluster)", s.String(), s.String(), RevisionLabel, p.name,
			IgnoreNamespaceLabel)
	}
}

// eligibleMembers returns the members in name order, without the namespaces that can never be members (a warning
// when they were named).
func eligibleMembers(p *plane, m *membership) []string {
	var members []string
	for _, ns := range slices.Sorted(maps.Keys(m.from)) {
		if !neverMember(p, ns) {
			members = append(members, ns)
		} else if m.explicit[ns] {
			p.rep.Add(report.SeverityWarning, m.from[ns], "namespace %s can never be a mesh member (control plane, "+
				"kube-*, openshift-*, ibm-* or operator namespace): it is left out", ns)
		}
	}
	return members
}

// neverMember tells whether OpenShift Service Mesh 2 would refuse a namespace as a mesh member.
func neverMember(p *plane, ns string) bool {
	switch {
	case ns == p.ns, ns == "kube", ns == "openshift", ns == p.opts.OperatorNamespace:
		return true
	case strings.HasPrefix(ns, "kube-"), strings.HasPrefix(ns, "openshift-"), strings.HasPrefix(ns, "ibm-"):
		return true
	}
	return false
}

// multiTenantDiscovery selects the members of a MultiTenant control plane by the discovery label (and the member
// selectors that could not be evaluated), and labels the control plane namespace.
func multiTenantDiscovery(p *plane, m *membership) {
	mode := p.src.at(fieldpath.Path{"mode"})
	p.istio.discovery = append(p.istio.discovery, metav1.LabelSelector{MatchLabels: map[string]string{
		DiscoveryLabel: p.name}})
	p.istio.discovery = append(p.istio.discovery, m.unevaluated...)
	p.istio.record(mode, "spec.values.meshConfig.discoverySelectors", "MultiTenant: members are selected by the "+
		"label "+DiscoveryLabel+"="+p.name)
	first := len(p.istio.discovery) - len(m.unevaluated)
	for i, at := range m.unevaluatedAt {
		p.istio.record(at, fmt.Sprintf("spec.values.meshConfig.discoverySelectors[%d]", first+i), "")
	}
	p.rep.Add(report.SeverityWarning, mode, "MultiTenant: upstream istiod reads the whole cluster (cluster-wide "+
		"RBAC); the discoverySelectors only limit what it processes to the namespaces labelled %s=%s, not what it "+
		"can read", DiscoveryLabel, p.name)
	p.namespaces.add(p.ns, map[string]string{DiscoveryLabel: p.name}, mode, "Control plane namespace: selected by "+
		"the Istio's discoverySelectors")
}

// labelMember labels a member namespace for injection (and discovery), and checks its labels when the input has
// the Namespace objects.
func labelMember(p *plane, ns string, from report.Location, mi *memberInputs) {
	l := map[string]string{RevisionLabel: p.name, IgnoreNamespaceLabel: "true"}
	if !p.clusterWide {
		l[DiscoveryLabel] = p.name
	}
	p.namespaces.add(ns, l, from, "Mesh member: injected by the Istio "+p.name+"; ignored by OpenShift Service "+
		"Mesh 2 while both coexist")
	if !mi.known {
		return
	}
	lb, ok := mi.nsLabels[ns]
	if !ok {
		p.rep.Add(report.SeverityInfo, from, "namespace %s is a member but no Namespace object for it is in the "+
			"input: check that it exists", ns)
		return
	}
	if _, has := lb["istio-injection"]; has {
		p.rep.Add(report.SeverityWarning, from, "namespace %s has the label istio-injection, which would select "+
			"another injector: remove it (kubectl label namespace %s istio-injection-)", ns, ns)
	}
	if p.clusterWide && len(p.istio.discovery) > 0 && !matchesAny(p.istio.discovery, lb) {
		p.rep.Add(report.SeverityWarning, from, "namespace %s is a member but matches none of the "+
			"discoverySelectors, so the Istio will not see it: give it a label they select", ns)
	}
}

// nextSteps reports the steps to move the members to the new control plane.
func nextSteps(p *plane, members []string, known bool) {
	steps := []string{
		fmt.Sprintf("apply the Istio and wait for it (kubectl wait istio/%s --for=condition=Ready)", p.name),
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
	p.rep.Add(report.SeverityInfo, p.smcp.Doc.Loc, "next steps: %s", strings.Join(steps, "; "))
}

// labelCommand is the kubectl command that labels namespace ns as a member.
func labelCommand(p *plane, ns string) string {
	cmd := fmt.Sprintf("kubectl label namespace %s %s=%s %s=true", ns, RevisionLabel, p.name, IgnoreNamespaceLabel)
	if !p.clusterWide {
		cmd += fmt.Sprintf(" %s=%s", DiscoveryLabel, p.name)
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
