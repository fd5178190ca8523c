package lifecycle

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestWrittenStatuses(t *testing.T) {
	var w writtenStatuses
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: "u1", ResourceVersion: "5"}}
	st := encodeStatus(map[string]string{"state": "Healthy"})
	if w.alreadyWritten(obj, st) {
		t.Fatal("nothing was written yet")
	}
	w.remember(obj, "5", "6", st)
	if !w.alreadyWritten(obj, st) {
		t.Fatal("the same status from the same version was written already")
	}
	if w.alreadyWritten(obj, encodeStatus(map[string]string{"state": "NotReady"})) {
		t.Fatal("another status must be written")
	}
	written := obj.DeepCopy()
	written.ResourceVersion = "6"
	if !w.alreadyWritten(written, st) {
		t.Fatal("a cache showing the version the write produced shows that status")
	}
	newer := obj.DeepCopy()
	newer.ResourceVersion = "7"
	if w.alreadyWritten(newer, st) {
		t.Fatal("a newer version of the resource (someone else wrote) must be written again")
	}
	other := obj.DeepCopy()
	other.UID = "u2"
	if w.alreadyWritten(other, st) {
		t.Fatal("a new resource of the same name is not the one written")
	}
	w.forget(client.ObjectKeyFromObject(obj))
	if w.alreadyWritten(obj, st) {
		t.Fatal("forgotten")
	}
}

// The first reconcile of a resource adds its finalizer (1 -> 2), records its inventory (2 -> 3, not decoded into
// the object) and writes its status from version 2 (-> 4): a cache showing any of them lags behind those writes.
func TestWrittenStatuses_OwnWritesJoinTheChain(t *testing.T) {
	var w writtenStatuses
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: "u1", ResourceVersion: "1"}}
	st := encodeStatus(map[string]string{"state": "Healthy"})
	w.own(obj, "1", "2")
	w.own(obj, "2", "3")
	at := func(rv string) *corev1.ConfigMap { o := obj.DeepCopy(); o.ResourceVersion = rv; return o }
	if w.alreadyWritten(at("2"), st) {
		t.Fatal("no status was written yet")
	}
	w.remember(at("2"), "2", "4", st)
	for _, rv := range []string{"1", "2", "3", "4"} {
		if !w.alreadyWritten(at(rv), st) {
			t.Fatalf("version %s is one of the reconciler's own writes, which the status was written after", rv)
		}
	}
	w.own(at("9"), "9", "10") // someone else wrote version 9
	if w.alreadyWritten(at("10"), st) {
		t.Fatal("after a version the reconciler did not produce, the chain and its status start afresh")
	}
}
