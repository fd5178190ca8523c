package istio

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

func TestWrittenStatuses_SkipsOnlyTheSameStatusFromTheSameVersion(t *testing.T) {
	var w writtenStatuses
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{UID: "u1", ResourceVersion: "10"}}
	st := &sailv1.IstioStatus{ActiveRevisionName: "default"}
	if w.alreadyWritten(istio, st) {
		t.Fatal("nothing was written yet")
	}
	w.remember(istio, "10", "11", st)
	if !w.alreadyWritten(istio, st) {
		t.Fatal("the same status computed from the same version was just written")
	}
	if w.alreadyWritten(istio, &sailv1.IstioStatus{ActiveRevisionName: "other"}) {
		t.Fatal("a different status must be written")
	}
	newer := istio.DeepCopy()
	newer.ResourceVersion = "12"
	if w.alreadyWritten(newer, st) {
		t.Fatal("from a newer version the status is compared with the object, not with what was written")
	}
	w.forget("u1")
	if w.alreadyWritten(istio, st) {
		t.Fatal("a forgotten Istio remembers nothing")
	}
}

func TestWrittenStatuses_ConditionTimesCompareAsStored(t *testing.T) {
	var w writtenStatuses
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{UID: "u1", ResourceVersion: "10"}}
	second := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	stored := &sailv1.IstioStatus{Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue,
		Reason: "Healthy", LastTransitionTime: metav1.NewTime(second)}}}
	w.remember(istio, "9", "10", stored)
	// The same flip computed again from the lagging version, later within the same second: the API server would
	// store exactly what it has.
	again := stored.DeepCopy()
	again.Conditions[0].LastTransitionTime = metav1.NewTime(second.Add(300 * time.Millisecond))
	if !w.alreadyWritten(istio, again) {
		t.Fatal("a status that differs only below the second the API server keeps was already written")
	}
	later := stored.DeepCopy()
	later.Conditions[0].LastTransitionTime = metav1.NewTime(second.Add(time.Second))
	if w.alreadyWritten(istio, later) {
		t.Fatal("a transition time one second later is a change")
	}
}
