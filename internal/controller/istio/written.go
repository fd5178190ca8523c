package istio

import (
	"bytes"
	"encoding/json"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// writtenStatuses remembers, per Istio, the last status the controller wrote and the resourceVersion of the object
// it computed it from. A reconcile that runs before the cache has caught up with that write sees the same old
// object and computes the same status again; writing it once more would change nothing (a no-op write, issue 15).
type writtenStatuses struct {
	mu   sync.Mutex
	byID map[types.UID]writtenStatus
}

type writtenStatus struct {
	// versions are the resourceVersions of the Istio that the controller's own status writes went from and to since
	// it last saw a version it did not produce: a cache showing one of them lags behind those writes.
	versions map[string]bool
	// status is the JSON encoding of the status written: compared as the API server stores it, so that condition
	// times, which it keeps to the second, compare equal to the nanosecond times computed within that second.
	status []byte
}

// alreadyWritten reports whether status is what was last written from this very version of istio (the cache has not
// caught up yet), so writing it again would change nothing.
func (w *writtenStatuses) alreadyWritten(istio *sailv1.Istio, status *sailv1.IstioStatus) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	last, ok := w.byID[istio.UID]
	if !ok || !last.versions[istio.ResourceVersion] {
		return false
	}
	encoded, err := json.Marshal(status)
	return err == nil && bytes.Equal(encoded, last.status)
}

// remember records that status was written from the version from of istio, which the write turned into to.
func (w *writtenStatuses) remember(istio *sailv1.Istio, from, to string, status *sailv1.IstioStatus) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byID == nil {
		w.byID = map[types.UID]writtenStatus{}
	}
	versions := w.byID[istio.UID].versions
	if !versions[from] || len(versions) > maxOwnVersions {
		versions = map[string]bool{}
	}
	versions[from], versions[to] = true, true
	encoded, err := json.Marshal(status)
	if err != nil {
		encoded = nil // matches no encoding
	}
	w.byID[istio.UID] = writtenStatus{versions: versions, status: encoded}
}

// maxOwnVersions bounds the resourceVersions remembered per Istio.
const maxOwnVersions = 32

// forget drops what is remembered of an Istio (it is gone).
func (w *writtenStatuses) forget(uid types.UID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.byID, uid)
}
