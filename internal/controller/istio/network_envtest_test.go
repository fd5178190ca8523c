package istio_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// TestIstio_NetworkConsistent checks the NetworkConsistent condition: absent while neither
// spec.values.global.network nor the namespace's topology.istio.io/network label is set, False with a Warning
// event and the command to run when they differ, True once the namespace is labelled (seen through the
// namespace watch alone), False again when the label changes to another network.
func TestIstio_NetworkConsistent(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "net-cp")
	istio := &sailv1.Istio{}
	istio.Name = "net"
	istio.Spec = sailv1.IstioSpec{Namespace: "net-cp"}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	g.Eventually(testenv.ConditionStatusOf(c, istio, sailv1.ConditionReconciled), timeout).Should(BeEquivalentTo("True"))
	g.Consistently(testenv.ConditionOf(c, istio, sailv1.ConditionNetworkConsistent), "2s").Should(Equal("unset"),
		"one network: nothing to compare")

	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Values = &sailv1.Values{Global: &sailv1.GlobalConfig{Network: "network1"}}
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())
	networkCond := testenv.ConditionOf(c, istio, sailv1.ConditionNetworkConsistent)
	g.Eventually(networkCond, timeout).Should(Equal("False/" + sailv1.ReasonNetworkMismatch))
	g.Expect(testenv.Condition(istio, sailv1.ConditionNetworkConsistent).Message).To(ContainSubstring(
		"kubectl label namespace net-cp topology.istio.io/network=network1 --overwrite"))
	g.Eventually(func() []string { return warnings(t, c, "net") }, timeout).Should(ContainElement(sailv1.ReasonNetworkMismatch))
	g.Eventually(testenv.ConditionStatusOf(c, istio, sailv1.ConditionReconciled), timeout).Should(BeEquivalentTo("True"),
		"a warning: the control plane is reconciled all the same")
	g.Expect(networkCond()).To(Equal("False/"+sailv1.ReasonNetworkMismatch), "and the warning stays")

	labelNetwork(t, c, "net-cp", "network1")
	g.Eventually(networkCond, timeout).Should(Equal("True/"+sailv1.ReasonNetworkConsistent), "the label now agrees")

	labelNetwork(t, c, "net-cp", "network2")
	g.Eventually(networkCond, timeout).Should(Equal("False/" + sailv1.ReasonNetworkMismatch))
	g.Expect(testenv.Condition(istio, sailv1.ConditionNetworkConsistent).Message).To(
		ContainSubstring("is labelled topology.istio.io/network=network2"))
}

// labelNetwork sets the topology.istio.io/network label of a namespace.
func labelNetwork(t *testing.T, c client.Client, namespace, network string) {
	t.Helper()
	ns := &corev1.Namespace{}
	NewWithT(t).Expect(c.Get(context.Background(), client.ObjectKey{Name: namespace}, ns)).To(Succeed())
	patch := client.MergeFrom(ns.DeepCopy())
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels["topology.istio.io/network"] = network
	NewWithT(t).Expect(c.Patch(context.Background(), ns, patch)).To(Succeed())
}

// warnings returns the reasons of the Warning events about the named Istio.
func warnings(t *testing.T, c client.Client, name string) []string {
	var list eventsv1.EventList
	if err := c.List(context.Background(), &list); err != nil {
		t.Logf("listing events: %v", err)
		return nil
	}
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == sailv1.IstioKind && e.Regarding.Name == name && e.Type == corev1.EventTypeWarning {
			out = append(out, e.Reason)
		}
	}
	return out
}
