package operator

import (
	"flag"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestOptions_FlagsAndValidation(t *testing.T) {
	g := NewWithT(t)
	o := NewOptions()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.BindFlags(fs)
	g.Expect(fs.Parse([]string{"--leader-elect", "--platform=openshift", "--kube-api-qps=5", "--manage-istio-crds=false", "--memory-limit=96Mi"})).To(Succeed())
	g.Expect(o.LeaderElect).To(BeTrue())
	g.Expect(o.ManageIstioCRDs).To(BeFalse())
	g.Expect(o.KubeAPIQPS).To(Equal(5.0))
	g.Expect(o.MemoryLimitBytes()).To(Equal(int64(96 << 20)))
	g.Expect(o.Validate()).To(Succeed())

	cases := map[string]func(*Options){
		"an unknown platform":                    func(o *Options) { o.Platform = "mainframe" },
		"no reconcile workers":                   func(o *Options) { o.MaxConcurrentReconciles = 0 },
		"a renew deadline longer than the lease": func(o *Options) { o.RenewDeadline = 20 * time.Second },
		"a memory limit that is no quantity":     func(o *Options) { o.MemoryLimit = "lots" },
	}
	for name, mutate := range cases {
		t.Run(name+" is refused", func(t *testing.T) {
			o := NewOptions()
			mutate(o)
			NewWithT(t).Expect(o.Validate()).To(HaveOccurred())
		})
	}
}

func TestVersionString_NamesEveryVersion(t *testing.T) {
	g := NewWithT(t)
	s := VersionString()
	g.Expect(s).To(ContainSubstring("v1.31.0"))
	g.Expect(s).To(ContainSubstring("latest=v1.31.0"))
}
