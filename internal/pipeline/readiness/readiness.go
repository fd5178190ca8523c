// Package readiness tells whether applied workloads are ready the kstatus way (sigs.k8s.io/cli-utils), which
// accounts for observedGeneration and updated replicas, so a rollout in progress is not reported ready.
package readiness

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Workload kinds whose readiness is checked.
var workloadKinds = map[string]bool{"Deployment": true, "DaemonSet": true, "StatefulSet": true}

// Generations returns the generation an object was last applied with (0 when unknown), e.g.
// apply.Applier.AppliedGeneration.
type Generations func(*unstructured.Unstructured) int64

// Check returns ready=true when every Deployment, DaemonSet and StatefulSet among objs is Current per kstatus;
// otherwise a message naming the first one that is not. A copy read from reader (usually a cache) that is older
// than the generation applied (when applied is not nil) is not ready: it does not show the rollout yet.
func Check(ctx context.Context, reader client.Reader, scheme *runtime.Scheme, objs []*unstructured.Unstructured, applied Generations) (bool, string, error) {
	for _, want := range objs {
		if !workloadKinds[want.GetKind()] {
			continue
		}
		obj, err := scheme.New(want.GroupVersionKind())
		if err != nil {
			return false, "", err
		}
		cobj := obj.(client.Object)
		if err := reader.Get(ctx, client.ObjectKeyFromObject(want), cobj); err != nil {
			if apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("%s %s/%s does not exist yet", want.GetKind(), want.GetNamespace(), want.GetName()), nil
			}
			return false, "", err
		}
		if applied != nil && cobj.GetGeneration() < applied(want) {
			return false, fmt.Sprintf("%s %s/%s is not ready: its new spec is not rolled out yet", want.GetKind(), want.GetNamespace(), want.GetName()), nil
		}
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return false, "", err
		}
		u := &unstructured.Unstructured{Object: content}
		u.SetGroupVersionKind(want.GroupVersionKind())
		if ready, msg, err := Current(u); err != nil || !ready {
			return false, msg, err
		}
	}
	return true, "", nil
}

// Current tells whether one object read from the API server is Current per kstatus (for a workload: its latest
// spec rolled out and available); otherwise a message naming it and saying why not.
func Current(u *unstructured.Unstructured) (bool, string, error) {
	res, err := kstatus.Compute(u)
	if err != nil {
		return false, "", err
	}
	if res.Status != kstatus.CurrentStatus {
		return false, fmt.Sprintf("%s %s/%s is not ready: %s", u.GetKind(), u.GetNamespace(), u.GetName(), res.Message), nil
	}
	return true, "", nil
}
