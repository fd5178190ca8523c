package istio

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestCheckInPlaceUpgrade(t *testing.T) {
	cases := []struct {
		name     string
		from, to string
		ok       bool
	}{
		{"same version is allowed", "v1.31.0", "v1.31.0", true},
		{"a patch upgrade is allowed", "v1.31.0", "v1.31.2", true},
		{"one minor up is allowed", "v1.30.0", "v1.31.0", true},
		{"one minor down is allowed", "v1.31.0", "v1.30.0", true},
		{"two minors up is refused", "v1.29.0", "v1.31.0", false},
		{"two minors down is refused", "v1.31.0", "v1.29.4", false},
		{"a major change is refused", "v1.31.0", "v2.0.0", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := checkInPlaceUpgrade(tc.from, tc.to)
			if tc.ok {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(HaveOccurred())
			}
		})
	}
	NewWithT(t).Expect(checkInPlaceUpgrade("v1.29.0", "v1.31.0")).To(MatchError(ContainSubstring("RevisionBased")))
}
