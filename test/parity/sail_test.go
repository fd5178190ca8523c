package parity

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/istio"
	"github.com/sail-mesh/sail/internal/controller/istiocni"
	"github.com/sail-mesh/sail/internal/controller/istiorevision"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/controller/ztunnel"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// The namespaces of the installs: Sail's defaults, which the Helm user chooses too.
const (
	istioNamespace   = "istio-system"
	cniNamespace     = "istio-cni"
	ztunnelNamespace = "ztunnel"
)

// clusterScoped are the kinds the charts render that a cluster serves without a namespace.
var clusterScoped = map[string]bool{
	"ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true, "Namespace": true,
	"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true, "SecurityContextConstraints": true,
}

// sail is one user's Sail resources: an Istio named default (so with the InPlace strategy its revision is the
// default revision, which also renders the base chart), an IstioCNI with the same profile and a ZTunnel that
// targets the Istio.
type sail struct {
	version       versions.Version
	profile       string
	platform      values.Platform
	revisionBased bool
	// istioValues and cniValues are the Istio's and the IstioCNI's spec.values.
	istioValues *sailv1.Values
	cniValues   *sailv1.CNIValues

	renderer *render.Renderer
}

// revision returns the IstioRevision the Istio controller creates for the Istio.
func (s sail) revision() (*sailv1.IstioRevision, error) {
	ist := &sailv1.Istio{ObjectMeta: metav1.ObjectMeta{Name: sailv1.DefaultRevision, UID: "istio-uid"},
		Spec: sailv1.IstioSpec{Version: s.version.Name, Profile: s.profile, Namespace: istioNamespace, Values: s.istioValues}}
	if s.revisionBased {
		ist.Spec.UpdateStrategy = &sailv1.IstioUpdateStrategy{Type: sailv1.UpdateStrategyRevisionBased}
	}
	name := istio.RevisionName(ist, s.version.Name)
	spec, err := istio.RevisionSpec(ist, name, s.version, s.platform)
	if err != nil {
		return nil, err
	}
	return &sailv1.IstioRevision{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "revision-uid"}, Spec: spec}, nil
}

// controlPlane returns what the IstioRevision controller applies for a revision.
func (s sail) controlPlane(rev *sailv1.IstioRevision) ([]*unstructured.Unstructured, error) {
	r := &istiorevision.Reconciler{Deps: lifecycle.Deps{Renderer: s.renderer}}
	return desired(rev, rev.Spec.Namespace, func() ([]*unstructured.Unstructured, error) { return r.Render(rev) })
}

// cni returns what the IstioCNI controller applies.
func (s sail) cni() ([]*unstructured.Unstructured, error) {
	cni := &sailv1.IstioCNI{ObjectMeta: metav1.ObjectMeta{Name: sailv1.IstioCNIName, UID: "cni-uid"},
		Spec: sailv1.IstioCNISpec{Version: s.version.Name, Profile: s.profile, Namespace: cniNamespace, Values: s.cniValues}}
	r := &istiocni.Reconciler{Deps: lifecycle.Deps{Renderer: s.renderer, Versions: versions.Default(), Platform: s.platform}}
	return desired(cni, cniNamespace, func() ([]*unstructured.Unstructured, error) { return r.Render(cni) })
}

// ztunnel returns what the ZTunnel controller applies for a ZTunnel whose targetRef resolved to rev.
func (s sail) ztunnel(rev *sailv1.IstioRevision) ([]*unstructured.Unstructured, error) {
	zt := &sailv1.ZTunnel{ObjectMeta: metav1.ObjectMeta{Name: sailv1.ZTunnelName, UID: "ztunnel-uid"},
		Spec: sailv1.ZTunnelSpec{Version: s.version.Name, Namespace: ztunnelNamespace,
			TargetRef: &sailv1.ZTunnelTargetRef{Kind: sailv1.IstioKind, Name: sailv1.DefaultRevision}}}
	r := &ztunnel.Reconciler{Deps: lifecycle.Deps{Renderer: s.renderer, Versions: versions.Default(), Platform: s.platform}}
	return desired(zt, ztunnelNamespace, func() ([]*unstructured.Unstructured, error) { return r.Render(zt, rev) })
}

// desired runs a controller's render through the controllers' shared lifecycle, which prepares the objects for
// applying (owner, labels, namespace, runtime fields), and returns what would be applied.
func desired(owner client.Object, namespace string, renderObjects lifecycle.RenderFunc) ([]*unstructured.Unstructured, error) {
	mapper := meta.NewDefaultRESTMapper(nil)
	c := fake.NewClientBuilder().WithScheme(scheme()).WithRESTMapper(mapper).Build()
	lc := &lifecycle.Lifecycle{Client: c, Applier: apply.NewApplier(c, c, scheme(), "sail-operator")}
	objs, _, err := lc.Desired(owner, lifecycle.Key(owner), namespace, func() ([]*unstructured.Unstructured, error) {
		objs, err := renderObjects()
		for _, u := range objs {
			scope := meta.RESTScopeNamespace
			if clusterScoped[u.GetKind()] {
				scope = meta.RESTScopeRoot
			}
			mapper.Add(u.GroupVersionKind(), scope)
		}
		return objs, err
	})
	return objs, err
}

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(sailv1.AddToScheme(s))
	return s
}
