package istio

import (
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
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
	fromResourceVersion string
	status              sailv1.IstioStatus
}

// alreadyWritten reports whether status is what was last written from this very version of istio (the cache has not
// caught up yet), so writing it again would change nothing.
func (w *writtenStatuses) alreadyWritten(istio *sailv1.Istio, status *sailv1.IstioStatus) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	last, ok := w.byID[istio.UID]
	return ok && last.fromResourceVersion == istio.ResourceVersion && equality.Semantic.DeepEqual(&last.status, status)
}

// remember records that status was written from the version fromResourceVersion of istio.
func (w *writtenStatuses) remember(istio *sailv1.Istio, fromResourceVersion string, status *sailv1.IstioStatus) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byID == nil {
		w.byID = map[types.UID]writtenStatus{}
	}
	w.byID[istio.UID] = writtenStatus{fromResourceVersion: fromResourceVersion, status: *status.DeepCopy()}
}

// forget drops what is remembered of an Istio (it is gone).
func (w *writtenStatuses) forget(uid types.UID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.byID, uid)
}
