package precheck

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// minKubernetesMinor is the oldest Kubernetes minor version (1.x) each Istio minor version supports: MinK8SVersion
// of istioctl/pkg/install/k8sversion/version.go in the istio.io/istio module of each version in
// resources/versions.yaml (32 for both release-1.30 and release-1.31).
var minKubernetesMinor = map[string]int{"v1.30": 32, "v1.31": 32}

// gatewayAPIVersion is the Gateway API release each Istio minor version is built against: sigs.k8s.io/gateway-api
// in the go.mod of the istio.io/istio module of each version in resources/versions.yaml.
var gatewayAPIVersion = map[string]string{"v1.30": "v1.5.1", "v1.31": "v1.6.0"}

// minorKey returns "vMAJOR.MINOR" of a version name.
func minorKey(name string) string {
	major, minor, err := versions.MinorOf(name)
	if err != nil {
		return name
	}
	return fmt.Sprintf("v%d.%d", major, minor)
}

// checkKubernetes compares the cluster's Kubernetes version with the target Istio's minimum.
func checkKubernetes(_ context.Context, in Input) []Finding {
	const check = "kubernetes-version"
	info, err := in.Kube.Discovery().ServerVersion()
	if err != nil {
		return []Finding{finding(Error, check, "cannot read the Kubernetes version: %v; check the kubeconfig and that the API server is reachable", err)}
	}
	return []Finding{kubernetesFinding(info.GitVersion, in.Target.Name)}
}

// kubernetesFinding judges Kubernetes version kube (e.g. v1.33.2) for Istio version istio.
func kubernetesFinding(kube, istio string) Finding {
	const check = "kubernetes-version"
	want, known := minKubernetesMinor[minorKey(istio)]
	major, minor, err := versions.MinorOf(strings.SplitN(kube, "+", 2)[0])
	switch {
	case !known:
		return finding(Warning, check, "the minimum Kubernetes version of Istio %s is not known to this sailctl; check "+
			"Istio's support matrix (https://istio.io/latest/docs/releases/supported-releases/)", istio)
	case err != nil:
		return finding(Warning, check, "cannot parse the Kubernetes version %q; Istio %s needs Kubernetes v1.%d or newer", kube, istio, want)
	case major == 1 && minor < want:
		return finding(Error, check, "Kubernetes %s is older than v1.%d, the oldest Istio %s supports; upgrade the "+
			"cluster first, or install an older Istio version", kube, want, istio)
	}
	return finding(Info, check, "Kubernetes %s meets Istio %s's minimum of v1.%d", kube, istio, want)
}

// access is one permission installing or upgrading through Sail needs, and how serious its lack is.
type access struct {
	verb, group, resource string
	severity              Severity
	why                   string
}

var needed = []access{
	{"create", "sailoperator.io", "istios", Error, "to create the Istio"},
	{"patch", "sailoperator.io", "istios", Error, "to change the Istio's version"},
	{"create", "sailoperator.io", "istiocnis", Warning, "to create the IstioCNI (ambient mode, OpenShift)"},
	{"create", "sailoperator.io", "ztunnels", Warning, "to create the ZTunnel (ambient mode)"},
	{"list", "sailoperator.io", "istiorevisions", Warning, "to see the revisions an upgrade creates and retires"},
	{"list", "", "pods", Warning, "to see which workloads an upgrade restarts"},
}

// checkPermissions asks the API server (SelfSubjectAccessReview) whether the kubeconfig's user may do what an
// install or upgrade through Sail needs.
func checkPermissions(ctx context.Context, in Input) []Finding {
	const check = "permissions"
	var missing []Finding
	for _, a := range needed {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource}}}
		res, err := in.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return []Finding{finding(Warning, check, "cannot review permissions: %v", err)}
		}
		if !res.Status.Allowed {
			missing = append(missing, finding(a.severity, check, "you may not %s %s %s; ask a cluster "+
				"administrator for that permission (a ClusterRole bound to you)", a.verb, qualified(a), a.why))
		}
	}
	if len(missing) == 0 {
		return []Finding{finding(Info, check, "you may create and change Istio, IstioCNI and ZTunnel resources and list what an upgrade affects")}
	}
	return missing
}

func qualified(a access) string {
	if a.group == "" {
		return a.resource
	}
	return a.resource + "." + a.group
}

// gatewayCRDs are the Gateway API CRDs whose bundle version is checked.
var gatewayCRDs = []string{"gatewayclasses.gateway.networking.k8s.io", "gateways.gateway.networking.k8s.io",
	"httproutes.gateway.networking.k8s.io"}

// BundleVersionAnnotation is where Gateway API CRDs record their release.
const BundleVersionAnnotation = "gateway.networking.k8s.io/bundle-version"

// checkGatewayAPI compares the installed Gateway API CRDs' release with the one the target Istio is built against.
func checkGatewayAPI(ctx context.Context, in Input) []Finding {
	const check = "gateway-api"
	want, known := gatewayAPIVersion[minorKey(in.Target.Name)]
	var out []Finding
	for _, name := range gatewayCRDs {
		crd := &metav1.PartialObjectMetadata{}
		crd.SetGroupVersionKind(apiextensionsCRD)
		err := in.Client.Get(ctx, client.ObjectKey{Name: name}, crd)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return []Finding{finding(Warning, check, "cannot read CRD %s: %v", name, err)}
		}
		have := crd.GetAnnotations()[BundleVersionAnnotation]
		if known && (have == "" || versions.Compare(have, want) < 0) {
			out = append(out, finding(Warning, check, "CRD %s is Gateway API %s, older than %s, which Istio %s is "+
				"built against; install the Gateway API %s CRDs (https://gateway-api.sigs.k8s.io/guides/#installing-gateway-api)",
				name, orUnknown(have), want, in.Target.Name, want))
		}
	}
	if len(out) == 0 && known {
		out = append(out, finding(Info, check, "no Gateway API CRD older than %s (the release Istio %s is built against) is installed", want, in.Target.Name))
	}
	return out
}

func orUnknown(v string) string {
	if v == "" {
		return "(no " + BundleVersionAnnotation + " annotation)"
	}
	return v
}
