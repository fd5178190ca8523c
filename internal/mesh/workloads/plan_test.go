package workloads

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func pod(ns, name string, labels, annotations map[string]string, owner *sailv1.WorkloadReference, nsLabels map[string]string) Pod {
	return Pod{PartialObjectMetadata: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Annotations: annotations}},
		NamespaceLabels: nsLabels, Owner: owner}
}

func deploy(ns, name string) *sailv1.WorkloadReference {
	return &sailv1.WorkloadReference{Kind: KindDeployment, Namespace: ns, Name: name}
}

func TestMakePlan(t *testing.T) {
	g := NewWithT(t)
	onNew := map[string]string{"istio.io/rev": "new"}
	onOld := map[string]string{"istio.io/rev": "old"}
	tags := map[string]string{"prod": "new", "pinned": "old", "default": "new"}
	resolve := func(name string) string {
		if rev, ok := tags[name]; ok {
			return rev
		}
		return name
	}
	terminating := pod("a", "gone", nil, nil, deploy("a", "rolling"), onNew)
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	pods := []Pod{
		pod("b", "web-1", nil, nil, deploy("b", "web"), onNew),
		pod("b", "web-2", nil, nil, deploy("b", "web"), onNew), // same workload: listed once
		pod("a", "db-0", nil, nil, &sailv1.WorkloadReference{Kind: KindStatefulSet, Namespace: "a", Name: "db"}, onNew),
		pod("c", "tagged", nil, nil, deploy("c", "tagged"), map[string]string{"istio.io/rev": "prod"}),
		pod("c", "defaulted", nil, nil, deploy("c", "defaulted"), map[string]string{"istio-injection": "enabled"}),
		pod("d", "pinned-tag", nil, nil, deploy("d", "pinned-tag"), map[string]string{"istio.io/rev": "pinned"}),
		pod("d", "pinned-pod", onOld, nil, deploy("d", "pinned-pod"), nil),
		pod("d", "pod-label-new", onNew, nil, deploy("d", "pod-label-new"), nil),
		pod("e", "opted-out-ns", nil, nil, deploy("e", "x"), map[string]string{"istio.io/rev": "new", LabelOptOut: "disabled"}),
		pod("e", "opted-out", map[string]string{LabelOptOut: "disabled"}, nil, deploy("e", "y"), onNew),
		pod("e", "no-inject", map[string]string{"sidecar.istio.io/inject": "false"}, nil, deploy("e", "z"), onNew),
		pod("e", "no-inject-ann", nil, map[string]string{"sidecar.istio.io/inject": "false"}, deploy("e", "w"), onNew),
		pod("f", "disabled-ns", nil, nil, deploy("f", "v"), map[string]string{"istio-injection": "disabled"}),
		pod("f", "bare", nil, nil, nil, onNew),
		pod("f", "unlabelled", nil, nil, deploy("f", "unlabelled"), nil),
		terminating,
	}
	plan := MakePlan(pods, "new", resolve)
	g.Expect(plan.Workloads).To(Equal([]sailv1.WorkloadReference{
		{Kind: KindStatefulSet, Namespace: "a", Name: "db"},
		*deploy("b", "web"),
		*deploy("c", "defaulted"),
		*deploy("c", "tagged"),
		*deploy("d", "pod-label-new"),
	}))
	g.Expect(plan.Skipped).To(HaveLen(9))
	g.Expect(plan.Skipped).To(HaveKeyWithValue("Deployment d/pinned-tag", ContainSubstring("selects pinned, which is revision old")))
	g.Expect(plan.Skipped).To(HaveKeyWithValue("Deployment d/pinned-pod", ContainSubstring("selects old")))
	g.Expect(plan.Skipped).To(HaveKeyWithValue("Deployment e/x", ContainSubstring("namespace opted out")))
	g.Expect(plan.Skipped).To(HaveKeyWithValue("Deployment e/y", ContainSubstring("it opted out")))
	g.Expect(plan.Skipped).To(HaveKeyWithValue("Deployment e/z", ContainSubstring("injection is disabled for it")))
	g.Expect(plan.Skipped).To(HaveKeyWithValue("Deployment e/w", ContainSubstring("injection is disabled for it")))
	g.Expect(plan.Skipped).To(HaveKeyWithValue("Deployment f/v", ContainSubstring("injection is disabled in its namespace")))
	g.Expect(plan.Skipped).To(HaveKeyWithValue("Pod f/bare", ContainSubstring("not owned by a Deployment")))
	g.Expect(plan.Skipped).To(HaveKeyWithValue("Deployment f/unlabelled", ContainSubstring("nothing selects")))
	g.Expect(plan.Skipped).NotTo(HaveKey("Deployment a/rolling"))
}

func TestOwnerOf(t *testing.T) {
	g := NewWithT(t)
	ctrlRef := func(kind, name string) metav1.OwnerReference {
		return metav1.OwnerReference{Kind: kind, Name: name, UID: types.UID(name + "-uid"), Controller: ptr.To(true)}
	}
	lookups := 0
	deploymentOf := func(ns, rs string, uid types.UID) (string, error) {
		lookups++
		g.Expect(ns).To(Equal("ns"))
		g.Expect(uid).To(Equal(types.UID(rs + "-uid")))
		switch rs {
		case "web-abc":
			return "web", nil
		case "broken":
			return "", errors.New("boom")
		}
		return "", nil
	}
	p := func(refs ...metav1.OwnerReference) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", OwnerReferences: refs}}
	}
	g.Expect(OwnerOf(p(ctrlRef("ReplicaSet", "web-abc")), deploymentOf)).To(Equal(deploy("ns", "web")))
	g.Expect(OwnerOf(p(ctrlRef("StatefulSet", "db")), deploymentOf)).To(Equal(&sailv1.WorkloadReference{Kind: KindStatefulSet, Namespace: "ns", Name: "db"}))
	g.Expect(OwnerOf(p(ctrlRef("DaemonSet", "agent")), deploymentOf)).To(Equal(&sailv1.WorkloadReference{Kind: KindDaemonSet, Namespace: "ns", Name: "agent"}))
	g.Expect(OwnerOf(p(ctrlRef("ReplicaSet", "bare-rs")), deploymentOf)).To(BeNil())
	g.Expect(OwnerOf(p(ctrlRef("Job", "once")), deploymentOf)).To(BeNil())
	g.Expect(OwnerOf(p(metav1.OwnerReference{Kind: "StatefulSet", Name: "not-controller"}), deploymentOf)).To(BeNil())
	g.Expect(OwnerOf(p(), deploymentOf)).To(BeNil())
	_, err := OwnerOf(p(ctrlRef("ReplicaSet", "broken")), deploymentOf)
	g.Expect(err).To(MatchError("boom"))
	g.Expect(lookups).To(Equal(3))
}

func TestConfigOf(t *testing.T) {
	g := NewWithT(t)
	g.Expect(ConfigOf(nil)).To(Equal(Config{BatchSize: 10, DelayBetweenBatches: 5 * time.Second, BatchTimeout: 10 * time.Minute}))
	g.Expect(ConfigOf(&sailv1.IstioUpdateStrategy{WorkloadMigration: &sailv1.WorkloadMigrationConfig{
		BatchSize: ptr.To[int32](3), DelayBetweenBatchesSeconds: ptr.To[int32](0), BatchTimeoutSeconds: ptr.To[int32](60)}})).
		To(Equal(Config{BatchSize: 3, DelayBetweenBatches: 0, BatchTimeout: time.Minute}))
}

func TestDescribeSkipped(t *testing.T) {
	g := NewWithT(t)
	g.Expect(describeSkipped(map[string]string{"b": "y", "a": "x"})).To(Equal("a: x; b: y."))
	g.Expect(describeSkipped(map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"})).
		To(Equal("a: 1; b: 2; c: 3; and 2 more."))
}
