package istiocrds

import (
	"fmt"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Installers a live CRD's version markers name.
const (
	// BySail: the CRD carries AnnotationIstioVersion.
	BySail = "Sail"
	// ByHelm: Istio's base chart installed with Helm (labels app.kubernetes.io/version, helm.sh/chart).
	ByHelm = "Helm"
	// ByIstioctl: istioctl install (label operator.istio.io/version).
	ByIstioctl = "istioctl"
)

// Version markers other installers put on Istio's CRDs.
const (
	labelAppVersion      = "app.kubernetes.io/version"
	labelHelmChart       = "helm.sh/chart"
	labelIstioctlVersion = "operator.istio.io/version"
)

// Installed is the Istio version a live CRD comes from, as its markers tell.
type Installed struct {
	// Name is the CRD's name.
	Name string
	// Version is the newest Istio version its markers name; empty when it carries none (e.g. applied with
	// kubectl from crd-all.gen.yaml, or from the crds/ folder of an old base chart), which Sail takes to be older.
	Version string
	// By names who installed that version: BySail, ByHelm or ByIstioctl.
	By string
}

var versionPattern = regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-+].*)?$`)

// InstalledVersion reads the version markers of a live CRD: Sail's AnnotationIstioVersion, istioctl's
// operator.istio.io/version, Helm's app.kubernetes.io/version and helm.sh/chart (base-<version>). When several
// name a version (Sail upgraded a CRD that Helm installed, or the other way round), the newest counts.
func InstalledVersion(crd metav1.Object) Installed {
	labels := crd.GetLabels()
	helm := ByHelm
	if labels[labelIstioctlVersion] != "" {
		helm = ByIstioctl // istioctl renders the chart with the same labels
	}
	chart, _ := strings.CutPrefix(labels[labelHelmChart], "base-")
	inst := Installed{Name: crd.GetName()}
	for _, m := range []struct{ version, by string }{
		{crd.GetAnnotations()[AnnotationIstioVersion], BySail},
		{labels[labelIstioctlVersion], ByIstioctl},
		{labels[labelAppVersion], helm},
		{strings.ReplaceAll(chart, "_", "+"), helm},
	} {
		if versionPattern.MatchString(m.version) && (inst.Version == "" || versions.Compare(m.version, inst.Version) > 0) {
			inst.Version, inst.By = m.version, m.by
		}
	}
	return inst
}

// Result is what one Ensure did.
type Result struct {
	// Version is the Istio version whose CRDs were ensured.
	Version string
	// Kept lists the CRDs left as they are because a newer Istio version installed them, by name.
	Kept []Installed
}

// Message describes the result for a condition message.
func (r Result) Message() string {
	if len(r.Kept) == 0 {
		return fmt.Sprintf("Istio's CRDs are those of %s or newer.", r.Version)
	}
	parts := make([]string, 0, len(r.Kept))
	for _, k := range r.Kept {
		parts = append(parts, fmt.Sprintf("%s (%s, by %s)", k.Name, k.Version, k.By))
	}
	return fmt.Sprintf("%d of Istio's CRDs come from an Istio version newer than %s and are kept as they are "+
		"(Istio's CRDs are never downgraded; newer CRDs serve older control planes): %s.", len(r.Kept), r.Version,
		strings.Join(parts, ", "))
}
