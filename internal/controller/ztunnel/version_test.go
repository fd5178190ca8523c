package ztunnel

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

func TestCheckVersion(t *testing.T) {
	g := NewWithT(t)
	g.Expect(checkVersion(versions.Version{Name: "v1.31.0"})).To(Succeed())
	g.Expect(checkVersion(versions.Version{Name: "v1.24.0"})).To(Succeed())
	g.Expect(checkVersion(versions.Version{Name: "v1.23.5"})).To(MatchError(ContainSubstring("v1.24.0 or newer")))
}
