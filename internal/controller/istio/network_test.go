package istio

import (
	"testing"

	. "github.com/onsi/gomega"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// TestNetworkCondition checks NetworkConsistent for each combination of values.global.network and the
// namespace's network label (with and without meshNetworks), and that each mismatch says what to change.
func TestNetworkCondition(t *testing.T) {
	g := NewWithT(t)
	g.Expect(networkCondition("", "", "istio-system", false)).To(BeNil())

	c := networkCondition("network1", "network1", "istio-system", false)
	g.Expect(string(c.Status) + "/" + c.Reason).To(Equal("True/" + sailv1.ReasonNetworkConsistent))

	c = networkCondition("network1", "", "istio-system", false)
	g.Expect(string(c.Status) + "/" + c.Reason).To(Equal("False/" + sailv1.ReasonNetworkMismatch))
	g.Expect(c.Message).To(ContainSubstring("has no label topology.istio.io/network"))
	g.Expect(c.Message).To(ContainSubstring("kubectl label namespace istio-system topology.istio.io/network=network1 --overwrite"))

	c = networkCondition("network1", "network2", "istio-system", false)
	g.Expect(string(c.Status) + "/" + c.Reason).To(Equal("False/" + sailv1.ReasonNetworkMismatch))
	g.Expect(c.Message).To(ContainSubstring("is labelled topology.istio.io/network=network2"))

	g.Expect(networkCondition("network1", "", "istio-system", true)).To(BeNil(),
		"without the label istiod takes the networks from meshNetworks")
	c = networkCondition("network1", "network2", "istio-system", true)
	g.Expect(string(c.Status)).To(Equal("False"), "the label wins over meshNetworks")

	c = networkCondition("", "network2", "istio-system", false)
	g.Expect(string(c.Status) + "/" + c.Reason).To(Equal("False/" + sailv1.ReasonNetworkMismatch))
	g.Expect(c.Message).To(ContainSubstring(`Set spec.values.global.network to "network2"`))
}
