package skew

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// ControlPlanes returns the control planes of every IstioRevision in the cluster (those being deleted left
// out): the ones an IstioCNI serves.
func ControlPlanes(ctx context.Context, c client.Reader) ([]ControlPlane, error) {
	list := &sailv1.IstioRevisionList{}
	if err := c.List(ctx, list); err != nil {
		return nil, err
	}
	var out []ControlPlane
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp.IsZero() {
			out = append(out, ControlPlaneOf(&list.Items[i]))
		}
	}
	return out, nil
}
