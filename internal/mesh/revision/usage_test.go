package revision

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func TestNamespaceRevision(t *testing.T) {
	cases := map[string]struct {
		labels map[string]string
		want   string
	}{
		"istio-injection=enabled means the default revision and wins": {map[string]string{"istio-injection": "enabled", "istio.io/rev": "canary"}, "default"},
		"istio.io/rev names the revision":                             {map[string]string{"istio.io/rev": "canary"}, "canary"},
		"injection disabled selects nothing":                          {map[string]string{"istio-injection": "disabled", "istio.io/rev": "canary"}, ""},
		"no label selects nothing":                                    {nil, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { NewWithT(t).Expect(NamespaceRevision(tc.labels)).To(Equal(tc.want)) })
	}
}

func pod(phase corev1.PodPhase, labels, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations}, Status: corev1.PodStatus{Phase: phase}}
}

func TestPodRevision(t *testing.T) {
	cases := map[string]struct {
		pod  *corev1.Pod
		want string
	}{
		"the injected revision annotation wins": {pod(corev1.PodRunning, map[string]string{"istio.io/rev": "a"}, map[string]string{"istio.io/rev": "b"}), "b"},
		"the revision label counts":             {pod(corev1.PodRunning, map[string]string{"istio.io/rev": "a"}, nil), "a"},
		"istiod's own pods do not count":        {pod(corev1.PodRunning, map[string]string{"istio.io/rev": "a", "sidecar.istio.io/inject": "false"}, nil), ""},
		"inject=true means the default":         {pod(corev1.PodPending, map[string]string{"sidecar.istio.io/inject": "true"}, nil), "default"},
		"a completed pod uses nothing":          {pod(corev1.PodSucceeded, nil, map[string]string{"istio.io/rev": "b"}), ""},
		"a failed pod uses nothing":             {pod(corev1.PodFailed, nil, map[string]string{"istio.io/rev": "b"}), ""},
		"a gateway pod injected with the gateway template uses its revision label": {pod(corev1.PodRunning,
			map[string]string{"istio.io/rev": "a", "sidecar.istio.io/inject": "true"}, map[string]string{"inject.istio.io/templates": "gateway"}), "a"},
		"a gateway pod without a revision label asks for the default revision": {pod(corev1.PodRunning,
			map[string]string{"sidecar.istio.io/inject": "true"}, map[string]string{"inject.istio.io/templates": "gateway"}), "default"},
		"a waypoint istiod deployed uses its revision although it opted out of injection": {pod(corev1.PodRunning,
			map[string]string{"istio.io/rev": "a", "sidecar.istio.io/inject": "false", "gateway.istio.io/managed": "istio.io-mesh-controller"}, nil), "a"},
		"a gateway istiod deployed without a revision label uses the default revision": {pod(corev1.PodRunning,
			map[string]string{"sidecar.istio.io/inject": "false", "gateway.istio.io/managed": "istio.io-mesh-controller"}, nil), "default"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { NewWithT(t).Expect(PodRevision(tc.pod)).To(Equal(tc.want)) })
	}
}

func TestPruneAfter(t *testing.T) {
	g := NewWithT(t)
	now := time.Now()
	rev := func(status metav1.ConditionStatus, since time.Time) *sailv1.IstioRevision {
		return &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Status: sailv1.IstioRevisionStatus{Conditions: []metav1.Condition{{
			Type: sailv1.ConditionInUse, Status: status, ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(since)}}}}
	}
	_, ok := PruneAfter(rev(metav1.ConditionTrue, now), now, time.Second)
	g.Expect(ok).To(BeFalse(), "a revision in use is never pruned")
	_, ok = PruneAfter(rev(metav1.ConditionUnknown, now), now, time.Second)
	g.Expect(ok).To(BeFalse(), "unknown usage keeps the revision")
	_, ok = PruneAfter(&sailv1.IstioRevision{}, now, time.Second)
	g.Expect(ok).To(BeFalse(), "no usage condition keeps the revision")
	at, ok := PruneAfter(rev(metav1.ConditionFalse, now.Add(-time.Hour)), now, 30*time.Second)
	g.Expect(ok).To(BeTrue())
	g.Expect(at).To(Equal(now.Add(31*time.Second)), "the grace period starts when the revision became inactive (rounded up to the second)")
	at, _ = PruneAfter(rev(metav1.ConditionFalse, now.Add(time.Minute)), now, 30*time.Second)
	g.Expect(at).To(Equal(now.Add(91*time.Second)), "or when it became unused, whichever is later")
}
