package skew

import (
	"testing"

	. "github.com/onsi/gomega"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func TestCheckInPlace(t *testing.T) {
	cases := []struct {
		name, from, to, reason string
	}{
		{"same version is allowed", "v1.31.0", "v1.31.0", ""},
		{"a patch upgrade is allowed", "v1.31.0", "v1.31.2", ""},
		{"a patch downgrade is allowed", "v1.31.2", "v1.31.0", ""},
		{"one minor up is allowed", "v1.30.0", "v1.31.0", ""},
		{"one minor down is refused", "v1.31.0", "v1.30.0", sailv1.ReasonDowngradeRefused},
		{"two minors up are refused", "v1.29.0", "v1.31.0", sailv1.ReasonUpgradeRefused},
		{"two minors down are refused", "v1.31.0", "v1.29.4", sailv1.ReasonDowngradeRefused},
		{"a major change is refused", "v1.31.0", "v2.0.0", sailv1.ReasonUpgradeRefused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			reason, err := CheckInPlace(tc.from, tc.to)
			g.Expect(reason).To(Equal(tc.reason))
			if tc.reason == "" {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(MatchError(ContainSubstring("RevisionBased")))
			}
		})
	}
}

func TestSupported(t *testing.T) {
	cases := []struct {
		component, plane string
		ok               bool
	}{
		{"v1.31.0", "v1.31.4", true},
		{"v1.30.0", "v1.31.0", true},
		{"v1.31.0", "v1.30.0", false},
		{"v1.29.0", "v1.31.0", false},
	}
	for _, tc := range cases {
		ok, err := Supported(tc.component, tc.plane)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		NewWithT(t).Expect(ok).To(Equal(tc.ok), "%s with control plane %s", tc.component, tc.plane)
	}
}

func TestCheckComponent(t *testing.T) {
	g := NewWithT(t)
	planes := []ControlPlane{{Name: "a", Versions: []string{"v1.31.0"}}, {Name: "b", Versions: []string{"v1.30.0"}}}
	g.Expect(CheckComponent("IstioCNI", "v1.30.0", planes)).To(Succeed())
	err := CheckComponent("IstioCNI", "v1.31.0", planes)
	g.Expect(err).To(MatchError(ContainSubstring("IstioRevision b (v1.30.0)")))
	g.Expect(err.Error()).NotTo(ContainSubstring("IstioRevision a"))
	g.Expect(err.Error()).To(ContainSubstring("upgrade the control plane first"))
	err = CheckComponent("ZTunnel", "v1.29.0", planes)
	g.Expect(err).To(MatchError(ContainSubstring("more than one minor version older than the control plane of IstioRevision a (v1.31.0)")))

	rolling := ControlPlaneOf(&sailv1.IstioRevision{Spec: sailv1.IstioRevisionSpec{Version: "v1.31.0"},
		Status: sailv1.IstioRevisionStatus{ReadyVersion: "v1.30.0"}})
	g.Expect(rolling.Versions).To(Equal([]string{"v1.31.0", "v1.30.0"}))
	g.Expect(CheckComponent("IstioCNI", "v1.31.0", []ControlPlane{rolling})).To(MatchError(ContainSubstring("(v1.30.0)")),
		"a control plane still rolling out its upgrade does not yet admit the newer component")
}

func TestCheckControlPlane(t *testing.T) {
	g := NewWithT(t)
	comps := []Component{{Kind: "IstioCNI", Version: "v1.30.0"}, {Kind: "ZTunnel", Version: "v1.31.0"}}
	g.Expect(CheckControlPlane("default", "v1.31.0", comps)).To(Succeed())
	err := CheckControlPlane("default", "v1.30.0", comps)
	g.Expect(err).To(MatchError(ContainSubstring("ZTunnel runs v1.31.0, newer than v1.30.0")))
	g.Expect(err.Error()).NotTo(ContainSubstring("IstioCNI runs"))
	g.Expect(CheckControlPlane("default", "v1.32.0", comps)).To(MatchError(ContainSubstring("IstioCNI runs v1.30.0, more than one minor")))
}
