package preview

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/istio"
	"github.com/sail-mesh/sail/internal/controller/istiocni"
	"github.com/sail-mesh/sail/internal/controller/istiorevision"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/controller/revisiontag"
	"github.com/sail-mesh/sail/internal/controller/ztunnel"
	"github.com/sail-mesh/sail/internal/operator"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Options are the inputs of a plan that are not in the resources.
type Options struct {
	// Version, when set, replaces spec.version of every resource.
	Version string
	// Platform is the target cluster's platform.
	Platform values.Platform
}

// Group is what the operator would apply for one Sail resource.
type Group struct {
	// Owner is the Sail resource: one read from the input, or the IstioRevision an Istio of the input creates.
	Owner client.Object
	// Source is the input resource Owner is or comes from.
	Source Resource
	// Namespace is where namespaced objects without a namespace go.
	Namespace string
	// Objects are the objects the owner's controller applies; Prepare readies them.
	Objects []*unstructured.Unstructured
	// Revision is true for the group of an Istio: its one object is the IstioRevision the Istio controller writes
	// (not through the applier, so Prepare leaves it alone).
	Revision bool
}

// Planner computes the objects of Sail resources with the operator's renderer and controllers.
type Planner struct {
	deps lifecycle.Deps
}

// NewPlanner returns a Planner for a platform, with the operator's scheme, the embedded charts and versions.
func NewPlanner(platform values.Platform) *Planner {
	return &Planner{deps: lifecycle.Deps{Scheme: operator.NewScheme(), Renderer: render.New(nil),
		Versions: versions.Default(), Platform: platform}}
}

// Scheme is the operator's scheme.
func (p *Planner) Scheme() *runtime.Scheme { return p.deps.Scheme }

// targets are the revisions resources can point at: by IstioRevision name, and by Istio name (its active
// revision).
type targets struct {
	revisions map[string]*sailv1.IstioRevision
	istios    map[string]*sailv1.IstioRevision
	ztunnel   *sailv1.ZTunnel
}

// Plan returns the groups of resources, in input order, an Istio's group followed by its revision's. Errors
// name the resource's file and document.
func (p *Planner) Plan(resources []Resource, opts Options) ([]Group, error) {
	t := &targets{revisions: map[string]*sailv1.IstioRevision{}, istios: map[string]*sailv1.IstioRevision{}}
	for _, r := range resources {
		overrideVersion(r.Object, opts.Version)
		if zt, ok := r.Object.(*sailv1.ZTunnel); ok {
			t.ztunnel = zt
		}
		if rev, ok := r.Object.(*sailv1.IstioRevision); ok {
			t.revisions[rev.Name] = rev
		}
	}
	var groups []Group
	for _, r := range resources {
		gs, err := p.groups(r, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Where(), err)
		}
		groups = append(groups, gs...)
	}
	return groups, nil
}

func overrideVersion(o client.Object, version string) {
	if version == "" {
		return
	}
	switch o := o.(type) {
	case *sailv1.Istio:
		o.Spec.Version = version
	case *sailv1.IstioRevision:
		o.Spec.Version = version
	case *sailv1.IstioCNI:
		o.Spec.Version = version
	case *sailv1.ZTunnel:
		o.Spec.Version = version
	}
}

// groups returns the group(s) of one resource.
func (p *Planner) groups(r Resource, t *targets) ([]Group, error) {
	switch o := r.Object.(type) {
	case *sailv1.Istio:
		rev, err := p.Revision(o, t.ztunnel)
		if err != nil {
			return nil, err
		}
		t.istios[o.Name] = rev
		t.revisions[rev.Name] = rev
		revGroup, err := p.revisionGroup(r, rev)
		if err != nil {
			return nil, err
		}
		u, err := toUnstructured(p.deps.Scheme, rev)
		if err != nil {
			return nil, err
		}
		return []Group{{Owner: o, Source: r, Objects: []*unstructured.Unstructured{u}, Revision: true}, revGroup}, nil
	case *sailv1.IstioRevision:
		g, err := p.revisionGroup(r, o)
		return []Group{g}, err
	case *sailv1.IstioCNI:
		objs, err := (&istiocni.Reconciler{Deps: p.deps}).Render(o)
		return []Group{{Owner: o, Source: r, Namespace: o.Spec.Namespace, Objects: objs}}, err
	case *sailv1.ZTunnel:
		return p.ztunnelGroup(r, o, t)
	case *sailv1.IstioRevisionTag:
		return p.tagGroup(r, o, t)
	}
	return nil, fmt.Errorf("unsupported resource %T", r.Object)
}

// Revision returns the IstioRevision the Istio controller writes for istio (controlled by it), computed by the
// controller's own functions; zt is the cluster's ZTunnel, nil for none.
func (p *Planner) Revision(ist *sailv1.Istio, zt *sailv1.ZTunnel) (*sailv1.IstioRevision, error) {
	version, err := p.deps.Versions.Resolve(ist.Spec.Version)
	if err != nil {
		return nil, fmt.Errorf("spec.version: %w", err)
	}
	name := istio.RevisionName(ist, version.Name)
	spec, err := istio.RevisionSpec(ist, name, version, p.deps.Platform)
	if err != nil {
		return nil, fmt.Errorf("spec.values: %w", err)
	}
	if zt != nil {
		istio.TrustZTunnel(ist, name, &spec, zt)
	}
	rev := &sailv1.IstioRevision{Spec: spec}
	rev.Name = name
	rev.SetGroupVersionKind(sailv1.GroupVersion.WithKind(sailv1.IstioRevisionKind))
	if err := controllerutil.SetControllerReference(ist, rev, p.deps.Scheme); err != nil {
		return nil, err
	}
	return rev, nil
}

func (p *Planner) revisionGroup(r Resource, rev *sailv1.IstioRevision) (Group, error) {
	objs, err := (&istiorevision.Reconciler{Deps: p.deps}).Render(rev)
	return Group{Owner: rev, Source: r, Namespace: rev.Spec.Namespace, Objects: objs}, err
}

func (p *Planner) ztunnelGroup(r Resource, zt *sailv1.ZTunnel, t *targets) ([]Group, error) {
	var rev *sailv1.IstioRevision
	if ref := zt.Spec.TargetRef; ref != nil {
		var err error
		if rev, err = t.target(ref.Kind, ref.Name); err != nil {
			return nil, fmt.Errorf("spec.targetRef: %w", err)
		}
	}
	objs, err := (&ztunnel.Reconciler{Deps: p.deps}).Render(zt, rev)
	return []Group{{Owner: zt, Source: r, Namespace: zt.Spec.Namespace, Objects: objs}}, err
}

func (p *Planner) tagGroup(r Resource, tag *sailv1.IstioRevisionTag, t *targets) ([]Group, error) {
	rev, err := t.target(tag.Spec.TargetRef.Kind, tag.Spec.TargetRef.Name)
	if err != nil {
		return nil, fmt.Errorf("spec.targetRef: %w", err)
	}
	objs, err := (&revisiontag.Reconciler{Deps: p.deps}).Render(tag, rev)
	return []Group{{Owner: tag, Source: r, Namespace: rev.Spec.Namespace, Objects: objs}}, err
}

// target returns the revision a targetRef names; the Istio or IstioRevision must come earlier in the input.
func (t *targets) target(kind, name string) (*sailv1.IstioRevision, error) {
	var rev *sailv1.IstioRevision
	switch kind {
	case sailv1.IstioKind:
		rev = t.istios[name]
	case sailv1.IstioRevisionKind:
		rev = t.revisions[name]
	default:
		return nil, fmt.Errorf("unknown kind %q; use Istio or IstioRevision", kind)
	}
	if rev == nil {
		return nil, fmt.Errorf("%s %q is not in the input; add it before this resource (sailctl renders offline "+
			"and cannot read it from the cluster)", kind, name)
	}
	return rev, nil
}

// Prepare readies the groups' objects as the operator does before applying them (namespace, Sail's labels, the
// owner as controller, the applied hash), with the applier's Prepare.
func Prepare(a *apply.Applier, groups []Group) error {
	for _, g := range groups {
		if g.Revision {
			continue
		}
		if err := a.Prepare(g.Objects, g.Owner, g.Namespace); err != nil {
			return fmt.Errorf("%s: %w", g.Source.Where(), err)
		}
	}
	return nil
}

func toUnstructured(scheme *runtime.Scheme, o client.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	gvks, _, err := scheme.ObjectKinds(o)
	if err != nil {
		return nil, err
	}
	u.SetGroupVersionKind(gvks[0])
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}
