// Package parity checks that Sail installs what `helm template` of the same Istio charts installs for a Helm user
// who passes the same profile and values: every profile of every supported version, charts base (default
// revision), istiod, cni and ztunnel, compared object by object. Only Sail's own labels and annotations, owner
// references, the empty webhook caBundles left to istiod (stripSail) and the intended differences listed below may
// differ.
package parity

import (
	"fmt"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/istiocni"
	"github.com/sail-mesh/sail/internal/controller/ztunnel"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// intended are the differences between Sail and `helm template` that are by design, one line each. Each one
// normalizes an object of either side (returning false to leave the object out), so nothing else hides behind it.
var intended = []struct {
	why       string
	normalize func(*unstructured.Unstructured) bool
}{
	{"Sail installs Istio's CRDs itself, from the newest supported version, never downgraded (internal/mesh/istiocrds)",
		func(u *unstructured.Unstructured) bool { return u.GetKind() != "CustomResourceDefinition" }},
	{"Sail renders with .Release.Service = sail-operator, so app.kubernetes.io/managed-by names Sail rather than Helm",
		setLabel("app.kubernetes.io/managed-by", render.ManagedBy)},
	{"istiod's values ConfigMap records the values as handed over: Sail hands over the merged profile, not its name, " +
		"with the profile's istiod settings under pilot as Istio's values schema has them (the chart reads them on top)",
		dropFields("ConfigMap", "values", []string{"data", "original-values"},
			[]string{"data", "merged-values", "profile"}, []string{"data", "merged-values", "pilot"})},
}

// variant is a setup beyond a bare profile: user values given to both Sail (the Istio's and the IstioCNI's
// spec.values) and Helm (-f), the operator's platform, or a revision-based Istio.
type variant struct {
	name    string
	profile string
	// platform is the operator's platform; empty for the profile's.
	platform values.Platform
	// revisionBased gives the Istio the RevisionBased update strategy: its revision is named after the version.
	revisionBased bool
	// istio and cni are YAML values of the istiod/base charts and of the cni chart.
	istio, cni string
}

// variants cover values that a merge may lose (false overrides of chart defaults, as `sailctl migrate` emits them;
// settings that the charts read but Istio's values schema lacks), the platform's default profile and revisions
// that are not the default revision.
var variants = []variant{
	{name: "default-on-openshift", platform: values.PlatformOpenShift},
	{name: "revision-based", revisionBased: true},
	{name: "ambient-revision-based", profile: "ambient", revisionBased: true},
	{name: "false-overrides", istio: `
pilot:
  autoscaleEnabled: false
  replicaCount: 2
  env:
    ENABLE_CA_SERVER: "false"
global:
  defaultPodDisruptionBudget:
    enabled: false
telemetry:
  enabled: false
`, cni: `
cni:
  ambient:
    enabled: false
  chained: false
`},
	{name: "settings-missing-from-istios-schema", istio: `
pilot:
  trustedZtunnelName: ztunnel-custom
  terminationMessagePolicy: FallbackToLogsOnError
  deploymentAnnotations:
    example.com/owner: mesh-team
  sidecarInjectorWebhookAnnotations:
    example.com/owner: mesh-team
  pdb:
    maxUnavailable: 1
  initContainers:
  - name: wait
    image: busybox
global:
  proxy_init:
    forceApplyIptables: true
  waypoint:
    tolerations:
    - key: dedicated
      operator: Exists
`, cni: `
cni:
  seLinuxOptions:
    type: spc_t
  terminationGracePeriodSeconds: 60
  tolerations:
  - operator: Exists
  updateStrategy:
    type: OnDelete
  ambient:
    enabled: true
    shareHostNetworkNamespace: true
    enableAmbientDetectionRetry: true
    enablementSelectors:
    - podSelector:
        matchLabels:
          example.com/ambient: "yes"
`},
}

func TestRenderParity(t *testing.T) {
	renderer := render.New(nil)
	var summary []string
	for _, v := range versions.Default().Versions {
		cases := []variant{}
		for _, p := range values.Profiles() {
			cases = append(cases, variant{name: p, profile: p})
		}
		for _, c := range append(cases, variants...) {
			t.Run(v.Name+"/"+c.name, func(t *testing.T) {
				summary = append(summary, checkParity(t, v, c, renderer))
			})
		}
	}
	t.Logf("objects compared (base+istiod, cni, ztunnel) and differing:\n%s", strings.Join(summary, "\n"))
}

// platformOf is the platform a user of a profile runs on.
func platformOf(profile string) values.Platform {
	if strings.HasPrefix(profile, "openshift") {
		return values.PlatformOpenShift
	}
	return values.PlatformKubernetes
}

// helmProfileOf is the profile a Helm user picks where Sail applies a profile on a platform: the platform's
// profile for the default one, as Sail does.
func helmProfileOf(profile string, platform values.Platform) string {
	if (profile == "" || profile == "default") && platform == values.PlatformOpenShift {
		return "openshift"
	}
	return profile
}

// checkParity compares the three installs of one setup and returns a summary line.
func checkParity(t *testing.T, v versions.Version, c variant, renderer *render.Renderer) string {
	t.Helper()
	s := sail{version: v, profile: c.profile, platform: c.platform, revisionBased: c.revisionBased, renderer: renderer}
	if s.platform == "" {
		s.platform = platformOf(c.profile)
	}
	var err error
	s.istioValues, err = decode[sailv1.Values](c.istio)
	fatal(t, schemaError(err))
	s.cniValues, err = decode[sailv1.CNIValues](c.cni)
	fatal(t, schemaError(err))
	istioUser, err := decode[map[string]any](c.istio)
	fatal(t, err)
	cniUser, err := decode[map[string]any](c.cni)
	fatal(t, err)

	rev, err := s.revision()
	fatal(t, err)
	sailCP, err := s.controlPlane(rev)
	fatal(t, err)
	sailCNI, err := s.cni()
	fatal(t, err)
	sailZT, err := s.ztunnel(rev)
	fatal(t, err)

	// The operator's overrides, which a Helm user installing the revision passes too; only the default revision
	// installs the base chart.
	profile := helmProfileOf(c.profile, s.platform)
	revision := ""
	if rev.Name != sailv1.DefaultRevision {
		revision = rev.Name
	}
	overrides := map[string]any{"revision": revision, "global": map[string]any{"istioNamespace": istioNamespace}}
	cpVals := helmValues(v, profile, loader.MergeMaps(*istioUser, overrides))
	helmCP := helmObjects(t, v.Name, versions.ChartIstiod, rev.Name, istioNamespace, cpVals)
	if revision == "" {
		helmCP = append(helmCP, helmObjects(t, v.Name, versions.ChartBase, "base", istioNamespace,
			loader.MergeMaps(cpVals, map[string]any{"defaultRevision": sailv1.DefaultRevision}))...)
	}
	helmCNI := helmObjects(t, v.Name, versions.ChartCNI, istiocni.ReleaseName, cniNamespace,
		helmValues(v, profile, *cniUser))
	helmZT := helmObjects(t, v.Name, versions.ChartZTunnel, ztunnel.ReleaseName, ztunnelNamespace,
		helmValues(v, profile, map[string]any{"revision": revision}))

	line := fmt.Sprintf("%s %-28s", s.version.Name, t.Name()[strings.LastIndex(t.Name(), "/")+1:])
	for _, c := range []struct {
		what       string
		helm, sail []*unstructured.Unstructured
	}{
		{"base+istiod", helmCP, sailCP},
		{"cni", helmCNI, sailCNI},
		{"ztunnel", helmZT, sailZT},
	} {
		res := compare(c.helm, c.sail)
		for _, d := range res.diffs {
			t.Errorf("%s: %s", c.what, d)
		}
		line += fmt.Sprintf("  %s %d/%d", c.what, res.compared, len(res.diffs))
	}
	return line
}

// helmObjects renders a chart as a Helm user would. Namespaced objects without a namespace are put in the
// release namespace, as `helm install` does.
func helmObjects(t *testing.T, version, chart, release, namespace string, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	objs, err := helmTemplate(version, chart, release, namespace, vals)
	fatal(t, err)
	for _, u := range objs {
		if u.GetNamespace() == "" && !clusterScoped[u.GetKind()] {
			u.SetNamespace(namespace)
		}
	}
	return objs
}

// setLabel sets a label wherever an object carries it, pod templates included.
func setLabel(key, value string) func(*unstructured.Unstructured) bool {
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if labels, ok := v["labels"].(map[string]any); ok && labels[key] != nil {
				labels[key] = value
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	return func(u *unstructured.Unstructured) bool {
		walk(u.Object)
		return true
	}
}

// dropFields removes fields from the objects of a kind whose name is name or, for a revision, name-<revision>.
func dropFields(kind, name string, paths ...[]string) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		if u.GetKind() == kind && (u.GetName() == name || strings.HasPrefix(u.GetName(), name+"-")) {
			for _, p := range paths {
				unstructured.RemoveNestedField(u.Object, p...)
			}
		}
		return true
	}
}

// decode reads YAML values; empty text gives nil for typed values and an empty map for maps.
func decode[T any](text string) (*T, error) {
	out := new(T)
	if strings.TrimSpace(text) == "" {
		if m, ok := any(out).(*map[string]any); ok {
			*m = map[string]any{}
			return out, nil
		}
		return nil, nil
	}
	return out, yaml.UnmarshalStrict([]byte(text), out)
}

// schemaError explains a failure to decode a case's values into Sail's typed values.
func schemaError(err error) error {
	if err != nil {
		return fmt.Errorf("Sail's typed values cannot hold a setting a Helm user can pass: %w", err)
	}
	return nil
}

func fatal(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
