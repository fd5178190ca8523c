package istio

import (
	"testing"

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
