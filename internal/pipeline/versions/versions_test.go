package versions_test

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

func TestDefault_IsValidAndNewestFirst(t *testing.T) {
	g := NewWithT(t)
	l := versions.Default()
	g.Expect(l.Versions).NotTo(BeEmpty())
	for i := 1; i < len(l.Versions); i++ {
		g.Expect(versions.Compare(l.Versions[i-1].Name, l.Versions[i].Name)).To(Equal(1))
	}
	for _, a := range []string{"latest", "v1.30-latest", "v1.31-latest"} {
		_, err := l.Resolve(a)
		g.Expect(err).NotTo(HaveOccurred(), a)
	}
}

func TestResolve(t *testing.T) {
	g := NewWithT(t)
	l, err := versions.Parse([]byte(`
versions:
- {name: v1.30.2, moduleVersion: m1, hub: h, tag: "1.30.2"}
- {name: v1.31.0, moduleVersion: m2, hub: h, tag: "1.31.0"}
aliases:
- {name: latest, version: v1.31.0}
`))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(l.Newest().Name).To(Equal("v1.31.0"))
	v, err := l.Resolve("latest")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(v.ModuleVersion).To(Equal("m2"))
	_, err = l.Resolve("v1.29.0")
	g.Expect(err).To(MatchError(ContainSubstring("supported versions and aliases: v1.31.0, v1.30.2, latest")))
}

func TestParse_RejectsBadLists(t *testing.T) {
	cases := map[string]string{
		"alias to an unknown version": "versions: [{name: v1.1.0, moduleVersion: m, hub: h, tag: t}]\naliases: [{name: a, version: v9.9.9}]",
		"version without a tag":       "versions: [{name: v1.1.0, moduleVersion: m, hub: h}]",
		"malformed version name":      "versions: [{name: one, moduleVersion: m, hub: h, tag: t}]",
		"duplicate version":           "versions: [{name: v1.1.0, moduleVersion: m, hub: h, tag: t}, {name: v1.1.0, moduleVersion: m, hub: h, tag: t}]",
		"unknown field":               "versions: [{name: v1.1.0, moduleVersion: m, hub: h, tag: t, extra: 1}]",
		"empty":                       "versions: []",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := versions.Parse([]byte(doc))
			NewWithT(t).Expect(err).To(HaveOccurred())
		})
	}
}

func TestMinorDistance(t *testing.T) {
	g := NewWithT(t)
	d, err := versions.MinorDistance("v1.29.3", "v1.31.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(d).To(Equal(2))
	d, _ = versions.MinorDistance("v1.31.0", "v1.30.1")
	g.Expect(d).To(Equal(-1))
	_, err = versions.MinorDistance("v1.31.0", "v2.0.0")
	g.Expect(err).To(HaveOccurred())
}

func TestChartFS_EveryVersionIsEmbedded(t *testing.T) {
	g := NewWithT(t)
	for _, v := range versions.Default().Versions {
		for _, c := range []string{versions.ChartBase, versions.ChartIstiod, versions.ChartCNI, versions.ChartZTunnel} {
			_, err := versions.ChartFS(v.Name, c)
			g.Expect(err).NotTo(HaveOccurred())
		}
		_, ok, err := versions.ProfileFile(v.Name, "ambient")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ok).To(BeTrue())
	}
}
