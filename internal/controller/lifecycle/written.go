package lifecycle

import (
	"bytes"
	"encoding/json"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// writtenStatuses remembers, per resource, the status last written and the resourceVersion it was computed from,
// so that a reconcile that runs before the cache has caught up with that write does not send the same status
// again (a write that changes nothing).
type writtenStatuses struct {
	mu  sync.Mutex
	set map[types.NamespacedName]*writtenStatus
}

type writtenStatus struct {
	uid types.UID
	// versions are the resourceVersions the reconciler's own status writes went from and to since it last saw a
	// version it did not produce: a cache showing one of them lags behind those writes.
	versions map[string]bool
	status   []byte
}

// maxOwnVersions bounds the resourceVersions remembered per resource.
const maxOwnVersions = 32

// alreadyWritten reports whether status (the encoding of the whole status) is what was last written from this very
// version of obj.
func (w *writtenStatuses) alreadyWritten(obj client.Object, status []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	last, ok := w.set[client.ObjectKeyFromObject(obj)]
	return ok && last.uid == obj.GetUID() && last.versions[obj.GetResourceVersion()] && bytes.Equal(last.status, status)
}

// remember records that status was written from the version from of obj, which the write turned into to.
func (w *writtenStatuses) remember(obj client.Object, from, to string, status []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chain(obj, from, to).status = status
}

// own records a write of the reconciler's to obj other than its status (the finalizer, the inventory) that went
// from the version from to the version to: a cache showing either lags behind the reconciler's own writes too. The
// status last written is kept when from continues the chain of own versions.
func (w *writtenStatuses) own(obj client.Object, from, to string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chain(obj, from, to)
}

// chain adds from and to to obj's own versions (starting them afresh, without a status, when from is not one of
// them) and returns the entry; w.mu must be held.
func (w *writtenStatuses) chain(obj client.Object, from, to string) *writtenStatus {
	if w.set == nil {
		w.set = map[types.NamespacedName]*writtenStatus{}
	}
	key := client.ObjectKeyFromObject(obj)
	last := w.set[key]
	if last == nil || last.uid != obj.GetUID() || !last.versions[from] || len(last.versions) > maxOwnVersions {
		last = &writtenStatus{uid: obj.GetUID(), versions: map[string]bool{}}
		w.set[key] = last
	}
	last.versions[from], last.versions[to] = true, true
	return last
}

// forget drops what is remembered of the resource of key (it is gone).
func (w *writtenStatuses) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.set, key)
}

// encodeStatus returns the JSON encoding of a status, or nil when it cannot be encoded (then nothing matches it).
func encodeStatus(status any) []byte {
	data, err := json.Marshal(status)
	if err != nil {
		return nil
	}
	return data
}
