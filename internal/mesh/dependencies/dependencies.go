// Package dependencies tells whether what a control plane revision depends on is there and healthy: the istio-cni
// node agent (IstioCNI) when its pods' traffic is redirected by istio-cni, and the ztunnel node proxy (ZTunnel) when
// it runs in ambient mode. The IstioRevision controller reports the answer in the DependenciesHealthy condition;
// Watch makes it re-evaluate that condition when an IstioCNI or ZTunnel changes.
package dependencies

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/pipeline/values"
)

// HealthyMessage is the DependenciesHealthy message when nothing is missing or unhealthy.
const HealthyMessage = "No dependency is missing or unhealthy."

// Needs says which node agents a revision depends on, and why.
type Needs struct {
	// CNI is why the revision needs istio-cni; empty when it does not.
	CNI string
	// ZTunnel is why the revision needs ztunnel; empty when it does not.
	ZTunnel string
}

// Of returns what a revision's values make it depend on:
//   - istio-cni when pilot.cni.enabled (or the deprecated istio_cni.enabled) is true, when global.platform is
//     openshift unless pilot.cni.enabled is explicitly false (OpenShift does not allow the privileged init
//     container that redirects sidecars' traffic otherwise), and in ambient mode (istio-cni redirects ambient
//     pods' traffic to ztunnel);
//   - ztunnel in ambient mode: pilot.env.PILOT_ENABLE_AMBIENT is true, or values.profile is ambient or
//     openshift-ambient (the ambient profile sets PILOT_ENABLE_AMBIENT, so the profile of an Istio is covered).
func Of(vals *sailv1.Values) Needs {
	var n Needs
	if vals == nil {
		return n
	}
	if ambient(vals) {
		n.ZTunnel = "it runs in ambient mode"
		n.CNI = "it runs in ambient mode"
	}
	var cniEnabled *bool
	if vals.Pilot != nil && vals.Pilot.Cni != nil {
		cniEnabled = vals.Pilot.Cni.Enabled
	}
	switch {
	case cniEnabled != nil && *cniEnabled:
		n.CNI = "pilot.cni.enabled is true"
	case vals.IstioCni != nil && vals.IstioCni.Enabled != nil && *vals.IstioCni.Enabled:
		n.CNI = "istio_cni.enabled is true"
	case vals.Global != nil && vals.Global.Platform == "openshift" && cniEnabled == nil && n.CNI == "":
		n.CNI = "the platform is OpenShift"
	}
	return n
}

func ambient(vals *sailv1.Values) bool {
	if vals.Profile == "ambient" || vals.Profile == "openshift-ambient" {
		return true
	}
	if vals.Pilot == nil {
		return false
	}
	switch v := values.PilotEnv(vals.Pilot)["PILOT_ENABLE_AMBIENT"].(type) {
	case string:
		return strings.EqualFold(strings.TrimSpace(v), "true")
	case bool:
		return v
	default:
		return false
	}
}

// Check returns the DependenciesHealthy condition of a revision: True with reason Healthy when it needs nothing
// or what it needs is ready; otherwise False with the reason of the first problem (IstioCNINotFound,
// IstioCNINotHealthy, ZTunnelNotFound or ZTunnelNotHealthy) and a message naming every problem. A ZTunnel whose
// identity the revision's istiod does not trust (see untrusted) is not healthy. err is set only when reading failed.
func Check(ctx context.Context, reader client.Reader, rev *sailv1.IstioRevision) (status metav1.ConditionStatus, reason, message string, err error) {
	needs := Of(rev.Spec.Values)
	var reasons, messages []string
	if needs.CNI != "" {
		cni := &sailv1.IstioCNI{}
		r, m, err := check(ctx, reader, cni, sailv1.IstioCNIName, needs.CNI, "istio-cni node agent", "IstioCNI",
			sailv1.ReasonIstioCNINotFound, sailv1.ReasonIstioCNINotHealthy, func() []metav1.Condition { return cni.Status.Conditions })
		if err != nil {
			return "", "", "", err
		}
		if r != "" {
			reasons, messages = append(reasons, r), append(messages, m)
		}
	}
	if needs.ZTunnel != "" {
		zt := &sailv1.ZTunnel{}
		r, m, err := check(ctx, reader, zt, sailv1.ZTunnelName, needs.ZTunnel, "ztunnel node proxy", "ZTunnel",
			sailv1.ReasonZTunnelNotFound, sailv1.ReasonZTunnelNotHealthy, func() []metav1.Condition { return zt.Status.Conditions })
		if err != nil {
			return "", "", "", err
		}
		if r == sailv1.ReasonZTunnelNotHealthy || r == "" {
			if trust := untrusted(rev, zt); trust != "" {
				// ztunnel cannot get certificates from an istiod that does not trust it: say so first.
				r, m = sailv1.ReasonZTunnelNotHealthy, trust
			}
		}
		if r != "" {
			reasons, messages = append(reasons, r), append(messages, m)
		}
	}
	if len(reasons) == 0 {
		return metav1.ConditionTrue, sailv1.ReasonHealthy, HealthyMessage, nil
	}
	return metav1.ConditionFalse, reasons[0], strings.Join(messages, " "), nil
}

// untrusted returns a message when the revision's istiod would not trust the ZTunnel's identity: istiod trusts
// the ztunnel ServiceAccount (values.pilot.trustedZtunnelName, default ztunnel) of
// values.pilot.trustedZtunnelNamespace, or of its own namespace when that is not set (Istio's istiod chart). Revisions that set CA_TRUSTED_NODE_ACCOUNTS themselves are not checked.
func untrusted(rev *sailv1.IstioRevision, zt *sailv1.ZTunnel) string {
	vals := rev.Spec.Values
	trustedNS, trustedName := rev.Spec.Namespace, "ztunnel"
	if vals != nil && vals.Pilot != nil {
		if _, ok := values.PilotEnv(vals.Pilot)[values.TrustedNodeAccountsEnv]; ok {
			return ""
		}
		if vals.Pilot.TrustedZtunnelNamespace != "" {
			trustedNS = vals.Pilot.TrustedZtunnelNamespace
		}
		if vals.Pilot.TrustedZtunnelName != "" {
			trustedName = vals.Pilot.TrustedZtunnelName
		}
	}
	name := values.ZTunnelServiceAccount(zt)
	if zt.Spec.Namespace == trustedNS && name == trustedName {
		return ""
	}
	return fmt.Sprintf("The revision's istiod trusts ztunnel as %s/%s, but the ZTunnel runs as %s/%s, so it would get no "+
		"certificates: set values.pilot.trustedZtunnelNamespace to %q on the Istio (and values.pilot.trustedZtunnelName "+
		"to %q), or give the ZTunnel a targetRef to the Istio.", trustedNS, trustedName, zt.Spec.Namespace, name, zt.Spec.Namespace, name)
}

// check reads one node agent resource and returns a reason and message when it is missing or not ready.
func check(ctx context.Context, reader client.Reader, obj client.Object, name, why, what, kind, notFound, notHealthy string,
	conditions func() []metav1.Condition) (string, string, error) {
	if err := reader.Get(ctx, client.ObjectKey{Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return notFound, fmt.Sprintf("The revision needs the %s because %s, but no %s exists: create the %s named %s.",
				what, why, kind, kind, name), nil
		}
		return "", "", err
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return notHealthy, fmt.Sprintf("The revision needs the %s because %s, but %s %s is being deleted.", what, why, kind, name), nil
	}
	ready := meta.FindStatusCondition(conditions(), sailv1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue {
		detail := "it has not reported readiness yet"
		if ready != nil {
			detail = strings.TrimSuffix(ready.Message, ".")
		}
		return notHealthy, fmt.Sprintf("The revision needs the %s because %s, but %s %s is not ready: %s.", what, why, kind, name, detail), nil
	}
	return "", "", nil
}

// Watch makes the IstioRevision controller built by b reconcile every IstioRevision when an IstioCNI or ZTunnel
// is created or deleted, or its Ready condition or spec changes. Those reconciles only re-evaluate the revisions'
// status: their specs did not change, so their charts are neither rendered nor applied again.
func Watch(b *builder.Builder, reader client.Reader) *builder.Builder {
	h := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		return allRevisions(ctx, reader)
	})
	p := builder.WithPredicates(ReadinessChanged())
	return b.Watches(&sailv1.IstioCNI{}, h, p).Watches(&sailv1.ZTunnel{}, h, p)
}

func allRevisions(ctx context.Context, reader client.Reader) []reconcile.Request {
	list := &sailv1.IstioRevisionList{}
	if err := reader.List(ctx, list); err != nil {
		metrics.WatchLookupFailed(ctx, "istiorevision", "IstioCNI or ZTunnel", err)
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// ReadinessChanged passes creations, deletions, and updates that change the generation, the deletion timestamp
// or the Ready condition: what Check looks at.
func ReadinessChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			if e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
				e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero() {
				return true
			}
			return !sameReady(readyOf(e.ObjectOld), readyOf(e.ObjectNew))
		},
	}
}

func readyOf(o client.Object) *metav1.Condition {
	switch t := o.(type) {
	case *sailv1.IstioCNI:
		return meta.FindStatusCondition(t.Status.Conditions, sailv1.ConditionReady)
	case *sailv1.ZTunnel:
		return meta.FindStatusCondition(t.Status.Conditions, sailv1.ConditionReady)
	default:
		return nil
	}
}

func sameReady(a, b *metav1.Condition) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Status == b.Status && a.Message == b.Message
}
