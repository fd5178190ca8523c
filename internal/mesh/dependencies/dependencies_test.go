package dependencies

import (
	"context"
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func jsonEnv(m map[string]any) *apiextensionsv1.JSON {
	data, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return &apiextensionsv1.JSON{Raw: data}
}

// scheme is built here rather than taken from internal/operator, which imports the IstioRevision controller,
// which imports this package.
func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := sailv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func pilot(cniEnabled *bool, envVars map[string]any) *sailv1.PilotConfig {
	p := &sailv1.PilotConfig{}
	if cniEnabled != nil {
		p.Cni = &sailv1.CNIUsageConfig{Enabled: cniEnabled}
	}
	if envVars != nil {
		p.Env = jsonEnv(envVars)
	}
	return p
}

func TestOf(t *testing.T) {
	cases := []struct {
		name         string
		vals         *sailv1.Values
		cni, ztunnel bool
		cniBecause   string
	}{
		{name: "a revision without values needs nothing", vals: nil},
		{name: "a default sidecar revision needs nothing", vals: &sailv1.Values{Global: &sailv1.GlobalConfig{Hub: "docker.io/istio"}}},
		{name: "pilot.cni.enabled needs istio-cni", vals: &sailv1.Values{Pilot: pilot(ptr(true), nil)}, cni: true,
			cniBecause: "pilot.cni.enabled is true"},
		{name: "pilot.cni.enabled false needs nothing", vals: &sailv1.Values{Pilot: pilot(ptr(false), nil)}},
		{name: "the deprecated istio_cni.enabled needs istio-cni",
			vals: &sailv1.Values{IstioCni: &sailv1.CNIUsageConfig{Enabled: ptr(true)}}, cni: true, cniBecause: "istio_cni.enabled is true"},
		{name: "OpenShift needs istio-cni", vals: &sailv1.Values{Global: &sailv1.GlobalConfig{Platform: "openshift"}}, cni: true,
			cniBecause: "the platform is OpenShift"},
		{name: "OpenShift with CNI explicitly disabled needs nothing",
			vals: &sailv1.Values{Global: &sailv1.GlobalConfig{Platform: "openshift"}, Pilot: pilot(ptr(false), nil)}},
		{name: "PILOT_ENABLE_AMBIENT needs ztunnel and istio-cni",
			vals: &sailv1.Values{Pilot: pilot(nil, map[string]any{"PILOT_ENABLE_AMBIENT": "true"})}, cni: true, ztunnel: true},
		{name: "PILOT_ENABLE_AMBIENT as a boolean counts",
			vals: &sailv1.Values{Pilot: pilot(nil, map[string]any{"PILOT_ENABLE_AMBIENT": true})}, cni: true, ztunnel: true},
		{name: "PILOT_ENABLE_AMBIENT false needs nothing",
			vals: &sailv1.Values{Pilot: pilot(nil, map[string]any{"PILOT_ENABLE_AMBIENT": "false"})}},
		{name: "the ambient profile in the values needs both", vals: &sailv1.Values{Profile: "ambient"}, cni: true, ztunnel: true},
		{name: "ambient with CNI disabled for sidecars still needs istio-cni",
			vals: &sailv1.Values{Pilot: pilot(ptr(false), map[string]any{"PILOT_ENABLE_AMBIENT": "true"})}, cni: true, ztunnel: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			n := Of(tc.vals)
			g.Expect(n.CNI != "").To(Equal(tc.cni), "needs CNI: %q", n.CNI)
			g.Expect(n.ZTunnel != "").To(Equal(tc.ztunnel), "needs ztunnel: %q", n.ZTunnel)
			if tc.cniBecause != "" {
				g.Expect(n.CNI).To(Equal(tc.cniBecause))
			}
		})
	}
}

func revision(vals *sailv1.Values) *sailv1.IstioRevision {
	return &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: sailv1.IstioRevisionSpec{Version: "v1.31.0", Namespace: "istio-system", Values: vals}}
}

func cni(ready metav1.ConditionStatus, msg string) *sailv1.IstioCNI {
	c := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: sailv1.IstioCNIName}}
	if ready != "" {
		c.Status.Conditions = []metav1.Condition{{Type: sailv1.ConditionReady, Status: ready, Reason: "X", Message: msg}}
	}
	return c
}

func ztunnel(ready metav1.ConditionStatus, msg string) *sailv1.ZTunnel {
	z := &sailv1.ZTunnel{ObjectMeta: metav1.ObjectMeta{Name: sailv1.ZTunnelName}, Spec: sailv1.ZTunnelSpec{Namespace: "ztunnel"}}
	if ready != "" {
		z.Status.Conditions = []metav1.Condition{{Type: sailv1.ConditionReady, Status: ready, Reason: "X", Message: msg}}
	}
	return z
}

func TestCheck(t *testing.T) {
	ambient := &sailv1.Values{Pilot: pilot(nil, map[string]any{"PILOT_ENABLE_AMBIENT": "true"})}
	ambient.Pilot.TrustedZtunnelNamespace = "ztunnel"
	untrusting := &sailv1.Values{Pilot: pilot(nil, map[string]any{"PILOT_ENABLE_AMBIENT": "true"})}
	explicit := &sailv1.Values{Pilot: pilot(nil, map[string]any{"PILOT_ENABLE_AMBIENT": "true",
		"CA_TRUSTED_NODE_ACCOUNTS": "ztunnel/ztunnel,other/ztunnel"})}
	trustingRenamed := &sailv1.Values{Pilot: pilot(nil, map[string]any{"PILOT_ENABLE_AMBIENT": "true"})}
	trustingRenamed.Pilot.TrustedZtunnelNamespace, trustingRenamed.Pilot.TrustedZtunnelName = "ztunnel", "zt"
	renamed := ztunnel(metav1.ConditionTrue, "ok")
	renamed.Spec.Values = &sailv1.ZTunnelValues{Ztunnel: &sailv1.ZTunnelConfig{ResourceName: "zt"}}
	sidecarCNI := &sailv1.Values{Pilot: pilot(ptr(true), nil)}
	cases := []struct {
		name     string
		vals     *sailv1.Values
		objs     []client.Object
		status   metav1.ConditionStatus
		reason   string
		contains []string
	}{
		{name: "a revision that needs nothing is healthy without IstioCNI or ZTunnel", vals: nil,
			status: metav1.ConditionTrue, reason: sailv1.ReasonHealthy, contains: []string{HealthyMessage}},
		{name: "a missing IstioCNI is reported", vals: sidecarCNI,
			status: metav1.ConditionFalse, reason: sailv1.ReasonIstioCNINotFound,
			contains: []string{"pilot.cni.enabled is true", "no IstioCNI exists"}},
		{name: "an IstioCNI that has not reported readiness is not healthy", vals: sidecarCNI, objs: []client.Object{cni("", "")},
			status: metav1.ConditionFalse, reason: sailv1.ReasonIstioCNINotHealthy, contains: []string{"not reported readiness"}},
		{name: "an IstioCNI that is not ready is not healthy, with its reason", vals: sidecarCNI,
			objs:   []client.Object{cni(metav1.ConditionFalse, "DaemonSet istio-cni/istio-cni-node is not ready: 1 of 3 ready.")},
			status: metav1.ConditionFalse, reason: sailv1.ReasonIstioCNINotHealthy, contains: []string{"1 of 3 ready"}},
		{name: "a ready IstioCNI is healthy", vals: sidecarCNI, objs: []client.Object{cni(metav1.ConditionTrue, "ok")},
			status: metav1.ConditionTrue, reason: sailv1.ReasonHealthy},
		{name: "ambient without either reports the CNI first and names both", vals: ambient,
			status: metav1.ConditionFalse, reason: sailv1.ReasonIstioCNINotFound, contains: []string{"no IstioCNI", "no ZTunnel"}},
		{name: "ambient with a ready CNI and no ZTunnel", vals: ambient, objs: []client.Object{cni(metav1.ConditionTrue, "ok")},
			status: metav1.ConditionFalse, reason: sailv1.ReasonZTunnelNotFound, contains: []string{"ambient mode"}},
		{name: "ambient with a ZTunnel not ready", vals: ambient,
			objs:   []client.Object{cni(metav1.ConditionTrue, "ok"), ztunnel(metav1.ConditionFalse, "not yet")},
			status: metav1.ConditionFalse, reason: sailv1.ReasonZTunnelNotHealthy, contains: []string{"not yet"}},
		{name: "ambient with both ready is healthy", vals: ambient,
			objs:   []client.Object{cni(metav1.ConditionTrue, "ok"), ztunnel(metav1.ConditionTrue, "ok")},
			status: metav1.ConditionTrue, reason: sailv1.ReasonHealthy},
		{name: "a ZTunnel outside the namespace istiod trusts is not healthy", vals: untrusting,
			objs:   []client.Object{cni(metav1.ConditionTrue, "ok"), ztunnel(metav1.ConditionTrue, "ok")},
			status: metav1.ConditionFalse, reason: sailv1.ReasonZTunnelNotHealthy,
			contains: []string{"trusts ztunnel as istio-system/ztunnel", "runs as ztunnel/ztunnel", `trustedZtunnelNamespace to "ztunnel"`}},
		{name: "the trust problem is reported before readiness", vals: untrusting,
			objs:   []client.Object{cni(metav1.ConditionTrue, "ok"), ztunnel(metav1.ConditionFalse, "not yet")},
			status: metav1.ConditionFalse, reason: sailv1.ReasonZTunnelNotHealthy, contains: []string{"trustedZtunnelNamespace"}},
		{name: "a renamed ztunnel is not trusted", vals: ambient,
			objs:   []client.Object{cni(metav1.ConditionTrue, "ok"), renamed},
			status: metav1.ConditionFalse, reason: sailv1.ReasonZTunnelNotHealthy, contains: []string{"runs as ztunnel/zt"}},
		{name: "a renamed ztunnel trusted by its name is healthy", vals: trustingRenamed,
			objs:   []client.Object{cni(metav1.ConditionTrue, "ok"), renamed},
			status: metav1.ConditionTrue, reason: sailv1.ReasonHealthy},
		{name: "explicit CA_TRUSTED_NODE_ACCOUNTS are not second-guessed", vals: explicit,
			objs:   []client.Object{cni(metav1.ConditionTrue, "ok"), renamed},
			status: metav1.ConditionTrue, reason: sailv1.ReasonHealthy},
		{name: "a sidecar revision with CNI does not need ztunnel", vals: sidecarCNI,
			objs:   []client.Object{cni(metav1.ConditionTrue, "ok"), ztunnel(metav1.ConditionFalse, "broken")},
			status: metav1.ConditionTrue, reason: sailv1.ReasonHealthy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c := fake.NewClientBuilder().WithScheme(scheme()).WithObjects(tc.objs...).Build()
			st, reason, msg, err := Check(context.Background(), c, revision(tc.vals))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(st).To(Equal(tc.status))
			g.Expect(reason).To(Equal(tc.reason))
			for _, s := range tc.contains {
				g.Expect(msg).To(ContainSubstring(s))
			}
		})
	}
}

func TestCheck_DeletingIsNotHealthy(t *testing.T) {
	g := NewWithT(t)
	c := cni(metav1.ConditionTrue, "ok")
	c.Finalizers = []string{"test"}
	fc := fake.NewClientBuilder().WithScheme(scheme()).WithObjects(c).Build()
	g.Expect(fc.Delete(context.Background(), c)).To(Succeed())
	st, reason, msg, err := Check(context.Background(), fc, revision(&sailv1.Values{Pilot: pilot(ptr(true), nil)}))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(st).To(Equal(metav1.ConditionFalse))
	g.Expect(reason).To(Equal(sailv1.ReasonIstioCNINotHealthy))
	g.Expect(msg).To(ContainSubstring("being deleted"))
}

func TestReadinessChanged(t *testing.T) {
	p := ReadinessChanged()
	base := cni(metav1.ConditionFalse, "waiting")
	base.Generation = 1
	cases := []struct {
		name   string
		mutate func(*sailv1.IstioCNI)
		want   bool
	}{
		{"an inventory-only status change is ignored", func(c *sailv1.IstioCNI) {
			c.Status.Inventory = []sailv1.InventoryEntry{{ID: "x", Version: "v1"}}
		}, false},
		{"a Ready status change passes", func(c *sailv1.IstioCNI) { c.Status.Conditions[0].Status = metav1.ConditionTrue }, true},
		{"a Ready message change passes", func(c *sailv1.IstioCNI) { c.Status.Conditions[0].Message = "other" }, true},
		{"a spec change passes", func(c *sailv1.IstioCNI) { c.Generation = 2 }, true},
		{"a deletion passes", func(c *sailv1.IstioCNI) { now := metav1.Now(); c.DeletionTimestamp = &now }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			updated := base.DeepCopy()
			tc.mutate(updated)
			g.Expect(p.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: updated})).To(Equal(tc.want))
		})
	}
	g := NewWithT(t)
	g.Expect(p.Create(event.CreateEvent{Object: base})).To(BeTrue())
	g.Expect(p.Delete(event.DeleteEvent{Object: base})).To(BeTrue())
}
