package istiorevision_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// selfSignedCA returns the PEM of a CA certificate, as the caBundle istiod writes.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "primary istiod"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestIstioRevision_RemoteReadySaysWhetherThePrimaryServesIt installs a remote revision (no istiod of its own)
// with no primary anywhere: Ready is False, reason RemoteControlPlaneNotServing, first because the injection
// webhook has no caBundle (no primary reads this cluster), then, once a caBundle is written as a primary's istiod
// does, because the API server cannot call the webhook at the remote address. Without the check, a revision that
// has no workload to wait for was Ready at once.
func TestIstioRevision_RemoteReadySaysWhetherThePrimaryServesIt(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env := testenv.Start(t)
	env.StartOperator(t)
	c := env.Client
	env.CreateNamespace(t, "remote-cp")
	rev := &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: "remote-cp"}, Spec: sailv1.IstioRevisionSpec{
		Version: "v1.31.0", Namespace: "remote-cp", Values: &sailv1.Values{Revision: "remote-cp",
			Global: &sailv1.GlobalConfig{RemotePilotAddress: "10.0.0.250",
				MultiCluster: &sailv1.MultiClusterConfig{ClusterName: "cluster-r"}},
			IstiodRemote: &sailv1.IstiodRemoteConfig{Enabled: ptr.To(true)}}}}
	g.Expect(c.Create(ctx, rev)).To(Succeed())

	ready := func() *metav1.Condition {
		got := &sailv1.IstioRevision{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(rev), got); err != nil {
			return nil
		}
		for i := range got.Status.Conditions {
			if got.Status.Conditions[i].Type == sailv1.ConditionReady && got.Status.Conditions[i].ObservedGeneration == got.Generation {
				return &got.Status.Conditions[i]
			}
		}
		return nil
	}
	notServing := func(msg string) OmegaMatcher {
		return And(Not(BeNil()), HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", sailv1.ReasonRemoteControlPlaneNotServing), HaveField("Message", ContainSubstring(msg)))
	}
	g.Eventually(ready, timeout).Should(notServing("has no caBundle"))
	cond := ready()
	g.Expect(cond.Message).To(ContainSubstring("sailctl create-remote-secret --name cluster-r"))
	g.Expect(cond.Message).To(ContainSubstring("topology.istio.io/controlPlaneClusters"))
	t.Logf("before any primary: %s", cond.Message)

	// What a primary's istiod does once it reads this cluster: write its CA into the injection webhooks.
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "istio-sidecar-injector-remote-cp-remote-cp"}, mwc)).To(Succeed())
	ca := selfSignedCA(t)
	for i := range mwc.Webhooks {
		mwc.Webhooks[i].ClientConfig.CABundle = ca
	}
	g.Expect(c.Update(ctx, mwc, client.FieldOwner("pilot-discovery"))).To(Succeed())
	g.Eventually(ready, timeout).Should(notServing("cannot call the primary's injection webhook"))
	t.Logf("with a caBundle, the primary's address unreachable: %s", ready().Message)
	g.Expect(ready().Message).To(ContainSubstring("failed calling webhook"))
}
