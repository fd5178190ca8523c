package precheck

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestKubernetesFinding(t *testing.T) {
	g := NewWithT(t)
	f := kubernetesFinding("v1.31.4", "v1.31.0")
	g.Expect(f.Severity).To(Equal(Error))
	g.Expect(f.Message).To(ContainSubstring("older than v1.32, the oldest Istio v1.31.0 supports; upgrade the cluster first"))
	g.Expect(kubernetesFinding("v1.32.0+k3s1", "v1.30.0").Severity).To(Equal(Info))
	g.Expect(kubernetesFinding("v1.33.1", "v1.40.0").Severity).To(Equal(Warning), "an Istio whose minimum is unknown")
}

func TestWorst(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Worst(nil)).To(Equal(Info))
	g.Expect(Worst([]Finding{{Severity: Info}, {Severity: Error}, {Severity: Warning}})).To(Equal(Error))
}
