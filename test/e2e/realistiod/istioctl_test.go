package realistiod

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
	"github.com/sail-mesh/sail/test/framework"
)

// istioctlVersion is the Istio version installed both ways; its istioctl reads both installs.
const istioctlVersion = "v1.31.0"

// istioctlCommand is a command a user runs against an install, and what its output must show about an install
// with the revision REV (so that two equally broken outputs cannot pass).
type istioctlCommand struct {
	// args may contain REV, replaced by the revision's name.
	args []string
	want string
}

// istioctlCommands are the revision tags, the pre-upgrade check, the config analysis of every namespace, the
// client's and the control plane's versions, the injectors, why a namespace's pods are injected, and what an
// uninstall would delete. The control plane's version is read by port-forwarding to istiod's pod, which a kwok
// pod cannot do: that command shows only that istioctl finds the pod of istiod the same way.
var istioctlCommands = []istioctlCommand{
	{args: []string{"tag", "list"}, want: `prod +REV +app-tagged`},
	{args: []string{"x", "precheck"}, want: `No issues found`},
	{args: []string{"analyze", "-A"}, want: `IST0102\] \(Namespace default\)`},
	{args: []string{"analyze", "-A", "--revision", "REV"}, want: `IST0102\] \(Namespace default\)`},
	{args: []string{"version", "--remote=false"}, want: `client version: 1.31.0`},
	{args: []string{"version"}, want: `port-forwarding into istio-system.istiod-`},
	{args: []string{"x", "injector", "list"}, want: `app-tagged +istio-revision-tag-prod +REV +docker.io/istio/proxyv2:1.31.0`},
	{args: []string{"x", "check-inject", "-n", "app-tagged", "web"}, want: `istio-revision-tag-prod +REV +✔ +Namespace label istio.io/rev=prod matches`},
	{args: []string{"x", "check-inject", "-n", "app-injected", "web"}, want: `REV +✔ +Namespace label istio-injection=enabled matches`},
	{args: []string{"uninstall", "--purge", "--dry-run", "-y"}, want: `MutatingWebhookConfiguration/istio-revision-tag-prod\.`},
}

// istioctlSetup is one install, made with Sail and by a Helm user.
type istioctlSetup struct {
	name     string
	strategy string
	// revision is the IstioRevision Sail creates; tags are the revision tags it then has (the IstioRevisionTag
	// prod, and for a RevisionBased Istio named default the tag default Sail manages), which the Helm user lists
	// in the istiod chart's revisionTags.
	revision string
	tags     []string
}

var istioctlSetups = []istioctlSetup{
	{name: "in-place", strategy: sailv1.UpdateStrategyInPlace, revision: "default", tags: []string{"prod"}},
	{name: "revision-based", strategy: sailv1.UpdateStrategyRevisionBased, revision: "default-v1-31-0",
		tags: []string{"default", "prod"}},
}

// TestRealIstiod_IstioctlSeesSailAsHelm installs Istio 1.31 with Sail (an Istio named default, InPlace or
// RevisionBased, and an IstioRevisionTag prod) and then as a Helm user would (the base and istiod charts with the
// revision's merged values and the tags in revisionTags, applied by Helm's field manager, no operator running),
// each with its real istiod serving, and checks that the istioctl of that version answers the same about both.
func TestRealIstiod_IstioctlSeesSailAsHelm(t *testing.T) {
	createNamespace(t, "istio-system", nil)
	createNamespace(t, "app-tagged", map[string]string{"istio.io/rev": "prod"})
	createNamespace(t, "app-injected", map[string]string{"istio-injection": "enabled"})
	for _, setup := range istioctlSetups {
		t.Run(setup.name, func(t *testing.T) { checkIstioctlSetup(t, setup) })
	}
}

// checkIstioctlSetup installs a setup with Sail, then with Helm, and compares istioctl's answers.
func checkIstioctlSetup(t *testing.T, setup istioctlSetup) {
	start := time.Now()
	sail, vals := istioctlOnSail(t, setup)
	helm := istioctlOnHelm(t, setup, vals)
	t.Logf("both installs read by istioctl in %s", time.Since(start).Round(time.Second))
	for i, c := range istioctlCommands {
		compareIstioctl(t, c, setup.revision, helm[i], sail[i])
	}
}

// compareIstioctl fails the test when a command's normalized outputs differ, or when Sail's does not show what
// the command must show.
func compareIstioctl(t *testing.T, c istioctlCommand, revision string, helm, sail framework.IstioctlRun) {
	t.Helper()
	helm, sail = normalizeIstioctl(helm), normalizeIstioctl(sail)
	if d := cmp.Diff(helm, sail); d != "" {
		t.Errorf("istioctl answers differently about Sail's install than about Helm's (-helm +sail):\n%s", d)
		return
	}
	want := regexp.MustCompile(strings.ReplaceAll(c.want, "REV", regexp.QuoteMeta(revision)))
	if sail.ExitCode != 0 || !want.MatchString(sail.Stdout+sail.Stderr) {
		t.Errorf("istioctl's answer about both installs does not show %q with exit 0:\n%s", want, sail)
		return
	}
	t.Logf("istioctl %s: the same answer about both installs (%d lines)", strings.Join(sail.Args, " "),
		strings.Count(sail.Stdout+sail.Stderr, "\n"))
}

// istioctlOnSail installs with Sail, runs the commands with its istiod serving, uninstalls (the operator stopped
// afterwards) and returns the outputs and the revision's merged values.
func istioctlOnSail(t *testing.T, setup istioctlSetup) ([]framework.IstioctlRun, map[string]any) {
	op := startOperator(t)
	tag := createProdTag(t)
	createIstio(t, &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: sailv1.IstioSpec{
		Version: istioctlVersion, Namespace: "istio-system",
		UpdateStrategy: &sailv1.IstioUpdateStrategy{Type: setup.strategy}}})
	vals := revisionValues(t, setup.revision)
	NewWithT(t).Eventually(tagWebhooks(setup.tags), waitFor).Should(Succeed())
	outputs := istioctlWithIstiod(t, setup.revision)
	uninstallSail(t, tag)
	op.Stop()
	return outputs, vals
}

// createProdTag creates the IstioRevisionTag prod of the Istio named default; it is deleted when the test ends.
func createProdTag(t *testing.T) *sailv1.IstioRevisionTag {
	ctx := context.Background()
	tag := &sailv1.IstioRevisionTag{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Spec: sailv1.IstioRevisionTagSpec{
		TargetRef: sailv1.IstioRevisionTagTargetReference{Kind: sailv1.IstioKind, Name: "default"}}}
	NewWithT(t).Expect(cluster.Client.Create(ctx, tag)).To(Succeed())
	t.Cleanup(func() { _ = cluster.Client.Delete(ctx, tag) })
	return tag
}

// revisionValues returns an IstioRevision's merged values.
func revisionValues(t *testing.T, name string) map[string]any {
	g := NewWithT(t)
	rev := &sailv1.IstioRevision{}
	g.Expect(cluster.Client.Get(context.Background(), client.ObjectKey{Name: name}, rev)).To(Succeed())
	vals, err := values.ToMap(rev.Spec.Values)
	g.Expect(err).NotTo(HaveOccurred())
	return vals
}

// uninstallSail deletes the tag and the Istio named default, waits until both are gone and checks that Sail
// deleted what it applied, so that the Helm install starts clean.
func uninstallSail(t *testing.T, tag *sailv1.IstioRevisionTag) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(cluster.Client.Delete(ctx, tag)).To(Succeed())
	deleteIstio(t, "default")
	g.Eventually(func() bool {
		return apierrors.IsNotFound(cluster.Client.Get(ctx, client.ObjectKeyFromObject(tag), tag))
	}, waitFor).Should(BeTrue(), "the IstioRevisionTag is deleted")
	g.Expect(sailObjects()).To(BeEmpty(), "Sail deleted what it applied")
}

// tagWebhooks returns nil once the injection webhook of every tag exists.
func tagWebhooks(tags []string) func() error {
	return func() error {
		for _, tag := range tags {
			err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: "istio-revision-tag-" + tag},
				&admissionregistrationv1.MutatingWebhookConfiguration{})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// sailObjects lists what Sail applied of the kinds istioctl reads and is still there.
func sailObjects() []string {
	lists := []client.ObjectList{&admissionregistrationv1.MutatingWebhookConfigurationList{},
		&admissionregistrationv1.ValidatingWebhookConfigurationList{}, &corev1.ServiceList{},
		&corev1.ConfigMapList{}, &appsv1.DeploymentList{}}
	var out []string
	for _, list := range lists {
		if err := cluster.Client.List(context.Background(), list, client.HasLabels{apply.LabelManagedBy}); err != nil {
			return []string{err.Error()}
		}
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			obj := o.(client.Object)
			out = append(out, fmt.Sprintf("%T %s/%s", obj, obj.GetNamespace(), obj.GetName()))
			return nil
		})
	}
	return out
}

// helmChart is one `helm install <release> <chart> -n istio-system` with values.
type helmChart struct {
	release, chart string
	values         values.Map
}

// helmCharts are the charts a Helm user installs for a setup with vals (the revision's merged values, which name
// the revision): base with `--set defaultRevision=<revision>`, then istiod with the tags in revisionTags.
func helmCharts(setup istioctlSetup, vals values.Map) []helmChart {
	tags := []any{}
	for _, tag := range setup.tags {
		tags = append(tags, tag)
	}
	return []helmChart{
		{"istio-base", versions.ChartBase, values.Merge(vals, values.Map{"defaultRevision": setup.revision})},
		{"istiod", versions.ChartIstiod, values.Merge(values.ForIstiodChart(vals), values.Map{"revisionTags": tags})},
	}
}

// istioctlOnHelm installs a setup's charts as a Helm user would, runs the commands with its istiod serving,
// uninstalls and returns the outputs.
func istioctlOnHelm(t *testing.T, setup istioctlSetup, vals map[string]any) []framework.IstioctlRun {
	uninstall := helmInstall(t, helmCharts(setup, vals))
	outputs := istioctlWithIstiod(t, setup.revision)
	uninstall()
	return outputs
}

// helmInstall installs charts in order and returns what uninstalls them in reverse order, which also runs when
// the test ends.
func helmInstall(t *testing.T, charts []helmChart) (uninstall func()) {
	g := NewWithT(t)
	ctx := context.Background()
	var releases []*framework.HelmRelease
	uninstall = func() {
		for i := len(releases) - 1; i >= 0; i-- {
			g.Expect(releases[i].Uninstall(ctx, cluster.Client)).To(Succeed())
		}
		releases = nil
	}
	t.Cleanup(uninstall)
	for _, c := range charts {
		rel, err := cluster.HelmInstall(ctx, istioctlVersion, c.chart, c.release, "istio-system", c.values)
		g.Expect(err).NotTo(HaveOccurred())
		releases = append(releases, rel)
	}
	return uninstall
}

// istioctlWithIstiod starts the real istiod of a revision, waits until it has filled in its webhooks, creates an
// injected pod in each app namespace and runs the commands; istiod is stopped and the pods deleted before it
// returns.
func istioctlWithIstiod(t *testing.T, revision string) []framework.IstioctlRun {
	istiod := startIstiod(t, "istio-system", revision, istioctlVersion)
	defer istiod.Stop()
	NewWithT(t).Eventually(webhooksFilledIn, waitFor).Should(Succeed())
	pods := createInjectedPods(t, "app-tagged", "app-injected")
	defer deletePods(t, pods)
	return runIstioctlCommands(t, revision)
}

// createInjectedPods creates a pod in each namespace and checks that it was injected.
func createInjectedPods(t *testing.T, namespaces ...string) []*corev1.Pod {
	g := NewWithT(t)
	var pods []*corev1.Pod
	for _, ns := range namespaces {
		pod := testPod(ns, "web", map[string]string{"app": "web"})
		g.Expect(cluster.Client.Create(context.Background(), pod)).To(Succeed())
		g.Expect(sidecarOf(pod)).NotTo(BeNil(), "the pod in %s is injected", ns)
		pods = append(pods, pod)
	}
	return pods
}

// runIstioctlCommands runs every command against the cluster, REV in its arguments naming the revision.
func runIstioctlCommands(t *testing.T, revision string) []framework.IstioctlRun {
	g := NewWithT(t)
	istioctl, err := cluster.Istioctl(istioctlVersion, t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	var out []framework.IstioctlRun
	for _, c := range istioctlCommands {
		args := strings.Split(strings.ReplaceAll(strings.Join(c.args, "\x00"), "REV", revision), "\x00")
		run, err := istioctl.Run(context.Background(), args...)
		g.Expect(err).NotTo(HaveOccurred())
		out = append(out, run)
	}
	return out
}

// webhooksFilledIn returns nil once istiod has written the CA bundle of every Istio webhook and switched
// validation to fail closed, as it does after it starts.
func webhooksFilledIn() error {
	ctx := context.Background()
	mwcs := &admissionregistrationv1.MutatingWebhookConfigurationList{}
	if err := cluster.Client.List(ctx, mwcs, client.HasLabels{"istio.io/rev"}); err != nil {
		return err
	}
	for _, mwc := range mwcs.Items {
		for _, w := range mwc.Webhooks {
			if len(w.ClientConfig.CABundle) == 0 {
				return fmt.Errorf("%s has no CA bundle yet", mwc.Name)
			}
		}
	}
	return validationFilledIn()
}

// validationFilledIn returns nil once istiod has written the CA bundle of every Istio validating webhook and
// switched it to fail closed.
func validationFilledIn() error {
	vwcs := &admissionregistrationv1.ValidatingWebhookConfigurationList{}
	if err := cluster.Client.List(context.Background(), vwcs, client.HasLabels{"istio.io/rev"}); err != nil {
		return err
	}
	for _, vwc := range vwcs.Items {
		for _, w := range vwc.Webhooks {
			if len(w.ClientConfig.CABundle) == 0 || *w.FailurePolicy != admissionregistrationv1.Fail {
				return fmt.Errorf("%s has no CA bundle yet or does not fail closed", vwc.Name)
			}
		}
	}
	return nil
}

// deletePods deletes pods at once and waits until they are gone.
func deletePods(t *testing.T, pods []*corev1.Pod) {
	ctx := context.Background()
	for _, pod := range pods {
		_ = cluster.Client.Delete(ctx, pod, client.GracePeriodSeconds(0))
	}
	NewWithT(t).Eventually(func() bool {
		for _, pod := range pods {
			if !apierrors.IsNotFound(cluster.Client.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{})) {
				return false
			}
		}
		return true
	}, waitFor).Should(BeTrue(), "the test pods are deleted")
}

// What differs between any two installs, whoever made them: the generated suffix of a pod's name, istioctl's
// log lines (timestamped; here about port-forwarding, which kwok's pods cannot do), the local port of a
// port-forward and how the request through it failed (EOF or a reset, as it happens); and the terminal colours.
var (
	generatedSuffix = regexp.MustCompile(`-[0-9a-f]{8,10}-[0-9a-z]{5}\b`)
	logLine         = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT[0-9:.]+Z\t\w+\t.*\n`)
	portForward     = regexp.MustCompile(`Get "http://localhost:\d+(/[^"]*)": .*`)
	colour          = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

// normalizeIstioctl removes from a run what differs between any two installs.
func normalizeIstioctl(r framework.IstioctlRun) framework.IstioctlRun {
	for _, text := range []*string{&r.Stdout, &r.Stderr} {
		*text = logLine.ReplaceAllString(*text, "")
		*text = generatedSuffix.ReplaceAllString(*text, "-<hash>")
		*text = portForward.ReplaceAllString(*text, `Get "http://localhost:<port>$1": <failed>`)
		*text = colour.ReplaceAllString(*text, "")
	}
	return r
}
