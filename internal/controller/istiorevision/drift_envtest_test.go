package istiorevision_test

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
)

const timeout = testenv.Timeout

// inventoryObject waits until the revision's inventory lists an object of kind and returns it (as an empty
// object naming it).
func inventoryObject(g Gomega, c client.Client, rev, kind string) *unstructured.Unstructured {
	var found *unstructured.Unstructured
	g.Eventually(func() bool {
		r := &sailv1.IstioRevision{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: rev}, r); err != nil {
			return false
		}
		for _, e := range r.Status.Inventory {
			if strings.HasSuffix(e.ID, "_"+kind) {
				found, _ = apply.EntryObject(e)
				return true
			}
		}
		return false
	}, timeout).Should(BeTrue(), "IstioRevision %s applied a %s", rev, kind)
	return found
}

// recreatedAfterDelete deletes the object and waits until the operator has created it again.
func recreatedAfterDelete(g Gomega, c client.Client, obj *unstructured.Unstructured) {
	ctx := context.Background()
	g.Eventually(func() error { return c.Get(ctx, client.ObjectKeyFromObject(obj), obj) }, timeout).Should(Succeed())
	old := obj.GetUID()
	g.Expect(c.Delete(ctx, obj)).To(Succeed())
	g.Eventually(func() bool {
		fresh := &unstructured.Unstructured{}
		fresh.SetGroupVersionKind(obj.GroupVersionKind())
		return c.Get(ctx, client.ObjectKeyFromObject(obj), fresh) == nil && fresh.GetUID() != old
	}, timeout).Should(BeTrue(), "%s %s is recreated", obj.GetKind(), obj.GetName())
}

// TestIstioRevision_RepairsEveryKindItApplies deletes or edits the objects of the kinds that were applied but not
// watched before (NetworkPolicy, ValidatingAdmissionPolicy and its Binding, EndpointSlice) and checks that the
// operator repairs each.
func TestIstioRevision_RepairsEveryKindItApplies(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "istio-system")
	env.CreateNamespace(t, "remote")

	local := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioRevisionSpec{
		Version: "v1.31.0", Namespace: "istio-system", Values: &sailv1.Values{
			Global:       &sailv1.GlobalConfig{NetworkPolicy: &sailv1.NetworkPolicyConfig{Enabled: ptr.To(true)}},
			Experimental: &sailv1.ExperimentalConfig{StableValidationPolicy: ptr.To(true)}}}}
	g.Expect(c.Create(ctx, local)).To(Succeed())
	remote := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "remote"}, Spec: sailv1.IstioRevisionSpec{
		Version: "v1.31.0", Namespace: "remote", Values: &sailv1.Values{Revision: "remote",
			Global:       &sailv1.GlobalConfig{RemotePilotAddress: "10.10.10.10"},
			IstiodRemote: &sailv1.IstiodRemoteConfig{Enabled: ptr.To(true)}}}}
	g.Expect(c.Create(ctx, remote)).To(Succeed())

	for _, kind := range []string{"NetworkPolicy", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		t.Run("a deleted "+kind+" is recreated", func(t *testing.T) {
			recreatedAfterDelete(NewWithT(t), c, inventoryObject(NewWithT(t), c, "default", kind))
		})
	}
	t.Run("a deleted EndpointSlice is recreated", func(t *testing.T) {
		recreatedAfterDelete(NewWithT(t), c, inventoryObject(NewWithT(t), c, "remote", "EndpointSlice"))
	})
	t.Run("an edited NetworkPolicy is put back", func(t *testing.T) {
		g := NewWithT(t)
		np := inventoryObject(g, c, "default", "NetworkPolicy")
		g.Eventually(func() error { return c.Get(ctx, client.ObjectKeyFromObject(np), np) }, timeout).Should(Succeed())
		want, _, _ := unstructured.NestedFieldCopy(np.Object, "spec", "podSelector")
		edited := np.DeepCopy()
		g.Expect(unstructured.SetNestedField(edited.Object, map[string]any{"matchLabels": map[string]any{"app": "other"}},
			"spec", "podSelector")).To(Succeed())
		g.Expect(c.Update(ctx, edited)).To(Succeed())
		g.Eventually(func() any {
			live := np.DeepCopy()
			_ = c.Get(ctx, client.ObjectKeyFromObject(np), live)
			got, _, _ := unstructured.NestedFieldCopy(live.Object, "spec", "podSelector")
			return got
		}, timeout).Should(Equal(want))
	})
}
