package istio

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func TestNewest(t *testing.T) {
	g := NewWithT(t)
	rev := func(name string, gen int64) sailv1.IstioRevision {
		return sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: gen}}
	}
	cached := func() []sailv1.IstioRevision { return []sailv1.IstioRevision{rev("old", 3), rev("active", 1)} }
	written := rev("active", 2)
	g.Expect(newest(cached(), nil)).To(Equal(cached()), "nothing written: the cache is used")
	g.Expect(newest(cached(), &written)).To(Equal([]sailv1.IstioRevision{rev("old", 3), rev("active", 2)}),
		"a stale cached revision is replaced by the one just written")
	stale := rev("active", 0)
	g.Expect(newest(cached(), &stale)).To(Equal(cached()), "a newer cached revision is kept")
	created := rev("new", 1)
	g.Expect(newest(cached(), &created)).To(Equal(append(cached(), created)), "a revision the cache has not seen yet is added")
}
