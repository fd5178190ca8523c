package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/test/framework"
)

// Short leader election settings, so that a takeover after a crash takes seconds.
const (
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = 1 * time.Second
)

// logHas reports whether a line of the operator's log contains every one of parts, ignoring case (client-go's
// leader election logs "Successfully acquired lease" with the lock as a structured field, or as text with klog).
func logHas(op *framework.Operator, parts ...string) bool {
	data, err := os.ReadFile(op.LogPath)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(strings.ToLower(string(data)), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, strings.ToLower(p))
		}
		if all {
			return true
		}
	}
	return false
}

// TestLeader_TheStandbyTakesOverAfterTheLeaderIsKilled runs two operators with leader election, kills the leader
// with SIGKILL (so it cannot release the lease), changes an Istio while nobody leads, and checks that the standby
// takes the lease and finishes the change.
func TestLeader_TheStandbyTakesOverAfterTheLeaderIsKilled(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := cluster.Client
	const ns, id = "sail-leader", "sail-leader-e2e"
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).To(Succeed())
	defer func() { _ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}) }()
	// A lease left by an earlier run would make the first election wait for it to expire.
	_ = c.Delete(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: id}})

	flags := []string{"--leader-elect", "--leader-election-namespace=" + ns, "--leader-election-id=" + id,
		"--leader-election-lease-duration=" + leaseDuration.String(),
		"--leader-election-renew-deadline=" + renewDeadline.String(),
		"--leader-election-retry-period=" + retryPeriod.String()}
	logDir := t.TempDir()
	var ops []*framework.Operator
	for _, name := range []string{"operator-a", "operator-b"} {
		op, err := cluster.StartOperator(logDir, name, flags...)
		g.Expect(err).NotTo(HaveOccurred())
		defer op.Stop()
		defer op.DumpLogOnFailure(t)
		ops = append(ops, op)
	}

	acquired, lock := "successfully acquired lease", ns+"/"+id
	var leader, standby *framework.Operator
	g.Eventually(func() bool {
		for i, op := range ops {
			if logHas(op, acquired, lock) {
				leader, standby = op, ops[1-i]
				return true
			}
		}
		return false
	}, 60*time.Second, 100*time.Millisecond).Should(BeTrue(), "one operator becomes the leader")
	g.Eventually(func() bool { return logHas(standby, "attempting to acquire leader lease", lock) }, 20*time.Second).
		Should(BeTrue(), "the other one waits (it may start a little later)")
	g.Expect(logHas(standby, acquired, lock)).To(BeFalse())
	lease := &coordinationv1.Lease{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: id}, lease)).To(Succeed())
	g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
	firstHolder := *lease.Spec.HolderIdentity
	t.Logf("leader: %s (%s)", filepath.Base(leader.LogPath), firstHolder)

	// The leader works: an Istio becomes Ready.
	const istioNS, name = "istio-leader", "leader"
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: istioNS}}))).To(Succeed())
	defer func() {
		_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: istioNS}})
	}()
	istio := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: sailv1.IstioSpec{
		Version: "v1.31-latest", Namespace: istioNS,
		Values: &sailv1.Values{Pilot: &sailv1.PilotConfig{Env: rawJSON(map[string]string{"E2E_MARK": "before"})}},
	}}
	g.Expect(c.Create(ctx, istio)).To(Succeed())
	defer func() { _ = c.Delete(context.Background(), &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: name}}) }()
	g.Eventually(readyStatus(ctx, c, name), waitFor, 250*time.Millisecond).Should(HavePrefix("True"))

	// SIGKILL the leader, then change the Istio while nobody leads.
	killed := time.Now()
	leader.Kill()
	g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, istio)).To(Succeed())
	patch := client.MergeFrom(istio.DeepCopy())
	istio.Spec.Values.Pilot.Env = rawJSON(map[string]string{"E2E_MARK": "after"})
	g.Expect(c.Patch(ctx, istio, patch)).To(Succeed())

	// The standby takes the lease once it expires...
	g.Eventually(func() string {
		l := &coordinationv1.Lease{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: id}, l); err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		lease = l
		return *l.Spec.HolderIdentity
	}, 3*leaseDuration+10*time.Second, 50*time.Millisecond).ShouldNot(Or(BeEmpty(), Equal(firstHolder)))
	g.Eventually(func() bool { return logHas(standby, acquired, lock) }, 5*time.Second).Should(BeTrue())
	takeover := time.Since(killed)
	if lease.Spec.AcquireTime != nil { // the new leader's own clock, the same as ours
		takeover = lease.Spec.AcquireTime.Sub(killed)
	}
	g.Expect(takeover).To(BeNumerically(">", 0))

	// ...and finishes the pending change.
	g.Eventually(readyStatus(ctx, c, name), waitFor, 100*time.Millisecond).Should(HavePrefix("True"))
	finished := time.Since(killed)
	deploy := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: istioNS, Name: "istiod-" + name}, deploy)).To(Succeed())
	g.Expect(deploymentEnv(deploy, "E2E_MARK")).To(Equal("after"))

	report := fmt.Sprintf("leader election (lease %s, renew deadline %s, retry period %s): new leader %s after SIGKILL of the old one; pending change Ready %s after SIGKILL\n",
		leaseDuration, renewDeadline, retryPeriod, takeover.Round(time.Millisecond), finished.Round(time.Millisecond))
	t.Log(strings.TrimSpace(report))
	if dir := os.Getenv("SAIL_BENCH_OUT"); dir != "" {
		g.Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
		g.Expect(os.WriteFile(filepath.Join(dir, "bench-leader.txt"), []byte(report), 0o644)).To(Succeed())
	}

	// The new leader also cleans up.
	g.Expect(c.Delete(ctx, istio)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: name}, &sailv1.Istio{}))
	}, waitFor).Should(BeTrue())
	g.Eventually(func() []string { return managedObjects(ctx, c, name) }, waitFor).Should(BeEmpty())
}
