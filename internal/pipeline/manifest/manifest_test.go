package manifest

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestParse(t *testing.T) {
	g := NewWithT(t)
	objs, err := Parse([]byte("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(objs).To(HaveLen(2))
	g.Expect(objs[1].GetKind()).To(Equal("Service"))

	_, err = Parse([]byte("apiVersion: v1\nkind: ConfigMap\n---\nmetadata: {name: x}\n"))
	g.Expect(err).To(MatchError(ContainSubstring("document 2 has no apiVersion or kind")))
	_, err = Parse([]byte("a: [b\n"))
	g.Expect(err).To(HaveOccurred())
}
