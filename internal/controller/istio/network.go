package istio

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/metrics"
)

// checkNetwork compares the Istio's spec.values.global.network with the network label of its namespace and
// records the NetworkConsistent condition in out (nil when neither is set). A namespace that cannot be read
// leaves the condition as it is; one that does not exist (yet) has no label.
func (r *Reconciler) checkNetwork(ctx context.Context, istio *sailv1.Istio, out *outcome) {
	ns := lifecycle.NamespaceMetadata()
	err := r.Client.Get(ctx, client.ObjectKey{Name: istio.Spec.Namespace}, ns)
	if client.IgnoreNotFound(err) != nil {
		out.networkErr = err
		return
	}
	out.network = networkCondition(valuesNetwork(istio), ns.Labels[revision.LabelTopologyNetwork], istio.Spec.Namespace,
		hasMeshNetworks(istio))
	old := meta.FindStatusCondition(istio.Status.Conditions, sailv1.ConditionNetworkConsistent)
	mismatch := out.network != nil && out.network.Status == metav1.ConditionFalse
	if mismatch && (old == nil || old.Status != metav1.ConditionFalse || old.Message != out.network.Message) {
		r.event(istio, "Warning", sailv1.ReasonNetworkMismatch, "%s", out.network.Message)
	}
}

// valuesNetwork returns spec.values.global.network.
func valuesNetwork(istio *sailv1.Istio) string {
	if v := istio.Spec.Values; v != nil && v.Global != nil {
		return v.Global.Network
	}
	return ""
}

// hasMeshNetworks says whether spec.values.global.meshNetworks declares networks.
func hasMeshNetworks(istio *sailv1.Istio) bool {
	v := istio.Spec.Values
	if v == nil || v.Global == nil || v.Global.MeshNetworks == nil {
		return false
	}
	raw := strings.TrimSpace(string(v.Global.MeshNetworks.Raw))
	return raw != "" && raw != "{}" && raw != "null"
}

// networkCondition is the NetworkConsistent condition of an Istio whose values say network and whose namespace
// has label (each "" when not set); nil when both are empty, or when the namespace has no label and the values
// declare meshNetworks (from which istiod then takes the networks of endpoints).
func networkCondition(network, label, namespace string, meshNetworks bool) *metav1.Condition {
	var c metav1.Condition
	switch {
	case network == "" && label == "", label == "" && meshNetworks:
		return nil
	case network == label:
		c = cond(sailv1.ConditionNetworkConsistent, metav1.ConditionTrue, sailv1.ReasonNetworkConsistent,
			fmt.Sprintf("spec.values.global.network and the label %s of namespace %s both name network %s.",
				revision.LabelTopologyNetwork, namespace, network))
	case network == "":
		c = cond(sailv1.ConditionNetworkConsistent, metav1.ConditionFalse, sailv1.ReasonNetworkMismatch,
			fmt.Sprintf("Namespace %s is labelled %s=%s, but spec.values.global.network is not set, so the injected "+
				"sidecars do not know their network. Set spec.values.global.network to %q (or remove the label).",
				namespace, revision.LabelTopologyNetwork, label, label))
	default:
		c = cond(sailv1.ConditionNetworkConsistent, metav1.ConditionFalse, sailv1.ReasonNetworkMismatch,
			fmt.Sprintf("spec.values.global.network is %q, but namespace %s %s, and istiod puts this cluster's "+
				"endpoints on the network of that label while the injected sidecars say they are on %s. Run "+
				"`kubectl label namespace %s %s=%s --overwrite` (or set spec.values.global.network to the label's network).",
				network, namespace, labelPhrase(label), network, namespace, revision.LabelTopologyNetwork, network))
	}
	return &c
}

// labelPhrase says what the namespace's network label is.
func labelPhrase(label string) string {
	if label == "" {
		return "has no label " + revision.LabelTopologyNetwork
	}
	return fmt.Sprintf("is labelled %s=%s", revision.LabelTopologyNetwork, label)
}

// setNetworkCondition writes NetworkConsistent: removed when c is nil, unchanged when the namespace could not
// be read.
func setNetworkCondition(st *sailv1.IstioStatus, gen int64, c *metav1.Condition, err error) {
	switch {
	case err != nil:
	case c == nil:
		meta.RemoveStatusCondition(&st.Conditions, sailv1.ConditionNetworkConsistent)
	default:
		set(st, gen, *c)
	}
}

// istiosInNamespace maps a namespace to the Istios installed in it.
func (r *Reconciler) istiosInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	list := &sailv1.IstioList{}
	if err := r.Client.List(ctx, list); err != nil {
		metrics.WatchLookupFailed(ctx, "istio", "Namespace", err)
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if list.Items[i].Spec.Namespace == o.GetName() {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

// networkLabelChanged passes namespace events that may change an Istio's NetworkConsistent condition: creations,
// deletions, and updates of the network label.
func networkLabelChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetLabels()[revision.LabelTopologyNetwork] != e.ObjectNew.GetLabels()[revision.LabelTopologyNetwork]
	}}
}
