package istiorevision

import (
	"context"
	"fmt"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
)

// The probe pod of a remote revision is created with dryRun=All only: the API server runs the admission webhooks
// (the injection webhook, which points at the primary's istiod) and stores nothing.
// +kubebuilder:rbac:groups="",resources=pods,verbs=create

// Intervals at which a remote revision's serving is checked again: the caBundle written by the primary and the
// primary's reachability change without an event on the revision.
const (
	remoteRecheckNotServing = 10 * time.Second
	remoteRecheckServing    = 2 * time.Minute
)

// ProbePodName starts the name of the pod a remote revision's Ready check creates with dryRun=All.
const ProbePodName = "sail-injection-probe"

// injectorWebhookSuffix ends the names of the istiod chart's sidecar injection webhooks (Istio's webhook patcher
// fills in the caBundle of the webhooks whose name has this suffix).
const injectorWebhookSuffix = "sidecar-injector.istio.io"

// isRemote tells whether a revision is a remote one: the istiod chart's remote profile (istiodRemote.enabled)
// renders no istiod, only the injection webhook that points at the primary's istiod. A remote revision with a
// local injector (istiodRemote.enabledLocalInjectorIstiod) runs an istiod of its own, whose readiness is checked.
func isRemote(rev *sailv1.IstioRevision) bool {
	v := rev.Spec.Values
	if v == nil || v.IstiodRemote == nil || v.IstiodRemote.Enabled == nil || !*v.IstiodRemote.Enabled {
		return false
	}
	return v.IstiodRemote.EnabledLocalInjectorIstiod == nil || !*v.IstiodRemote.EnabledLocalInjectorIstiod
}

// remoteServing returns the Plan.Serving check of a remote revision: whether the primary control plane serves
// it, from what this cluster's API server shows, with no network path from the operator to the primary:
//  1. the injection webhook's caBundle: the primary's istiod writes it once it reads this cluster (a remote
//     secret in the primary, values.global.externalIstiod there, and this namespace's
//     topology.istio.io/controlPlaneClusters annotation naming the primary);
//  2. a probe pod created with dryRun=All, labelled for the revision: the API server calls the webhook; it fails
//     when the primary's address is unreachable or its certificate is not the one of the caBundle, and the pod
//     comes back with Istio's sidecar when the primary injected it.
func (r *Reconciler) remoteServing(rev *sailv1.IstioRevision) func(context.Context, []*unstructured.Unstructured) (lifecycle.Verdict, error) {
	return func(ctx context.Context, objs []*unstructured.Unstructured) (lifecycle.Verdict, error) {
		webhook := injectionWebhook(objs)
		if webhook == nil {
			return lifecycle.Verdict{Served: true, Message: "Remote revision without an injection webhook: " +
				"nothing to check here; the primary control plane serves it."}, nil
		}
		live := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: webhook.GetName()}, live); err != nil {
			return lifecycle.Verdict{}, client.IgnoreNotFound(err)
		}
		if name := webhookWithoutCABundle(live); name != "" {
			return notServing(noCABundleMessage(rev, live.Name, name)), nil
		}
		return r.probeInjection(ctx, rev, live)
	}
}

// notServing is the verdict of a remote revision the primary does not serve yet.
func notServing(msg string) lifecycle.Verdict {
	return lifecycle.Verdict{Reason: sailv1.ReasonRemoteControlPlaneNotServing, Message: msg,
		Requeue: remoteRecheckNotServing}
}

// injectionWebhook returns the revision's own sidecar injection webhook configuration among its objects (not a
// tag's), or nil.
func injectionWebhook(objs []*unstructured.Unstructured) *unstructured.Unstructured {
	for _, u := range objs {
		if u.GetKind() == "MutatingWebhookConfiguration" && u.GetLabels()["app"] == "sidecar-injector" &&
			u.GetLabels()["istio.io/tag"] == "" {
			return u
		}
	}
	return nil
}

// webhookWithoutCABundle returns the name of the first injection webhook with an empty caBundle, "" if none.
func webhookWithoutCABundle(cfg *admissionregistrationv1.MutatingWebhookConfiguration) string {
	for _, w := range cfg.Webhooks {
		if strings.HasSuffix(w.Name, injectorWebhookSuffix) && len(w.ClientConfig.CABundle) == 0 {
			return w.Name
		}
	}
	return ""
}

// noCABundleMessage says why the primary has not written the caBundle and what to check.
func noCABundleMessage(rev *sailv1.IstioRevision, config, webhook string) string {
	cluster := "<this cluster>"
	if g := rev.Spec.Values.Global; g != nil && g.MultiCluster != nil && g.MultiCluster.ClusterName != "" {
		cluster = g.MultiCluster.ClusterName
	}
	return fmt.Sprintf("No primary control plane serves this remote revision yet: webhook %s of "+
		"MutatingWebhookConfiguration %s has no caBundle, which the primary's istiod writes once it reads this cluster. "+
		"Check that the primary has this cluster's remote secret (sailctl create-remote-secret --name %s, applied in "+
		"the primary) and reaches this API server, that the primary's Istio sets values.global.externalIstiod: true, "+
		"and that namespace %s here is annotated topology.istio.io/controlPlaneClusters=<the primary's cluster name>.",
		webhook, config, cluster, rev.Spec.Namespace)
}

// probeInjection creates the probe pod with dryRun=All and tells from the answer whether the primary serves the
// revision's injection webhook.
func (r *Reconciler) probeInjection(ctx context.Context, rev *sailv1.IstioRevision,
	cfg *admissionregistrationv1.MutatingWebhookConfiguration) (lifecycle.Verdict, error) {
	pod := probePod(rev.Spec.Namespace, cfg.Labels["istio.io/rev"])
	err := r.Client.Create(ctx, pod, client.DryRunAll)
	switch {
	case err != nil && strings.Contains(err.Error(), "failed calling webhook"):
		return notServing(fmt.Sprintf("The API server cannot call the primary's injection webhook: %s. Check that "+
			"values.global.remotePilotAddress (or istiodRemote.injectionURL) is the primary's address and that this "+
			"cluster's API server reaches it (port 15017), and that the primary's istiod wrote the caBundle of %s.",
			strings.TrimSpace(err.Error()), cfg.Name)), nil
	case apierrors.IsForbidden(err) || apierrors.IsInvalid(err):
		return notServing(fmt.Sprintf("Cannot check whether the primary serves this revision: the probe pod %s/%s "+
			"(dry run) was refused: %v.", pod.Namespace, pod.GenerateName, err)), nil
	case err != nil:
		return lifecycle.Verdict{}, err
	}
	if !sidecarInjected(pod) {
		return notServing(fmt.Sprintf("The probe pod %s/%s (dry run, labelled istio.io/rev=%s) was admitted without "+
			"Istio's sidecar: the injection webhook of %s did not inject it; check the primary's istiod log.",
			pod.Namespace, pod.GenerateName, pod.Labels["istio.io/rev"], cfg.Name)), nil
	}
	return lifecycle.Verdict{Served: true, Requeue: remoteRecheckServing, Message: fmt.Sprintf(
		"The primary control plane serves this remote revision: a probe pod (dry run) is injected through %s%s.",
		cfg.Name, discoveryOf(pod))}, nil
}

// probePod is a pod selected by the revision's object-selector injection webhook (label istio.io/rev), in the
// revision's namespace, which carries no injection label.
func probePod(namespace, rev string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, GenerateName: ProbePodName + "-",
			Labels: map[string]string{"istio.io/rev": rev, "app": ProbePodName}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "registry.k8s.io/pause:3.10"}}},
	}
}

// sidecarInjected tells whether Istio's injection ran on the pod: the sidecar status annotation or an
// istio-proxy container (native sidecar or not).
func sidecarInjected(pod *corev1.Pod) bool {
	if _, ok := pod.Annotations["sidecar.istio.io/status"]; ok {
		return true
	}
	return proxyContainer(pod) != nil
}

// proxyContainer returns the pod's istio-proxy container, nil if none.
func proxyContainer(pod *corev1.Pod) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == "istio-proxy" {
				return &list[i]
			}
		}
	}
	return nil
}

// discoveryOf names the control plane address of the injected sidecar (its CA_ADDR, the istiod Service it
// connects to), when it shows.
func discoveryOf(pod *corev1.Pod) string {
	c := proxyContainer(pod)
	if c == nil {
		return ""
	}
	for _, e := range c.Env {
		if e.Name == "CA_ADDR" && e.Value != "" {
			return "; its sidecar connects to the control plane at " + e.Value
		}
	}
	return ""
}
