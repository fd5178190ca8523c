// Package istiocrds installs and upgrades Istio's own CRDs (networking.istio.io, security.istio.io, ...) from the
// base chart of the Istio version of each revision. CRDs are never downgraded and never deleted: a CRD that a newer
// Istio version installed (by Sail, Helm or istioctl) is left as it is, and upgrades are serialized in the
// operator process, so two revisions of different versions reconciling at once end with the newer CRDs.
package istiocrds

import (
	"context"
	"fmt"
	"io/fs"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/manifest"
	"github.com/sail-mesh/sail/internal/pipeline/objectid"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// AnnotationIstioVersion records on each CRD the Istio version it was installed from.
const AnnotationIstioVersion = "sailoperator.io/istio-version"

// Installer applies Istio's CRDs.
type Installer struct {
	applier  *apply.Applier
	cached   client.Reader
	uncached client.Reader

	// ensure serializes Ensure: the read, the comparison and the apply of one version's CRDs happen while no other
	// version's do.
	ensure sync.Mutex
	// newest is the newest version this process applied, by CRD name: a cached read may not show it yet.
	newest map[string]string

	mu sync.Mutex
	// stubs are each version's CRDs as metadata only (name, labels, annotations with the content hash): enough to
	// tell an unchanged CRD, a few kB instead of the MBs of parsed schemas, which are parsed again only to apply.
	stubs map[string][]*unstructured.Unstructured
	last  map[string]Result
}

// NewInstaller returns an Installer that applies through applier and reads live CRDs through cached (the
// manager's cache, which sees the CRDs Sail labelled) and, for CRDs the cache does not see (installed by Helm,
// istioctl or kubectl), through uncached (the manager's API reader).
func NewInstaller(applier *apply.Applier, cached, uncached client.Reader) *Installer {
	return &Installer{applier: applier, cached: cached, uncached: uncached, newest: map[string]string{},
		stubs: map[string][]*unstructured.Unstructured{}, last: map[string]Result{}}
}

// Ensure installs or upgrades Istio's CRDs to those of version. A CRD whose live copy comes from a newer Istio
// version (see Installed) is left as it is and listed in the result's Kept. The result is also kept for Last.
func (i *Installer) Ensure(ctx context.Context, version string) (Result, error) {
	stubs, err := i.stubsOf(version)
	if err != nil {
		return Result{}, err
	}
	i.ensure.Lock()
	defer i.ensure.Unlock()
	res := Result{Version: version}
	var todo []*unstructured.Unstructured
	for _, crd := range stubs {
		live, err := i.installed(ctx, crd.GetName())
		if err != nil {
			return Result{}, err
		}
		if live.Version != "" && versions.Compare(live.Version, version) > 0 {
			res.Kept = append(res.Kept, live)
			continue
		}
		todo = append(todo, crd)
	}
	if err := i.apply(ctx, version, todo); err != nil {
		return Result{}, fmt.Errorf("installing Istio %s CRDs: %w", version, err)
	}
	i.record(todo, res)
	return res, nil
}

// apply applies the CRDs of version named by todo (stubs) that are not live as Sail applies them, parsing the
// version's CRD file only when there is one.
func (i *Installer) apply(ctx context.Context, version string, todo []*unstructured.Unstructured) error {
	stale := map[string]bool{}
	for _, stub := range todo {
		same, err := i.applier.Unchanged(ctx, stub)
		if err != nil {
			return err
		}
		if !same {
			stale[stub.GetName()] = true
		}
	}
	if len(stale) == 0 {
		return nil
	}
	crds, err := crdsOf(version)
	if err != nil {
		return err
	}
	var objs []*unstructured.Unstructured
	for _, crd := range crds {
		if stale[crd.GetName()] {
			objs = append(objs, crd)
		}
	}
	_, err = i.applier.Apply(ctx, objs)
	return err
}

// record remembers the version applied to each CRD of todo, and the result for Last.
func (i *Installer) record(todo []*unstructured.Unstructured, res Result) {
	for _, crd := range todo {
		if cur := i.newest[crd.GetName()]; cur == "" || versions.Compare(res.Version, cur) > 0 {
			i.newest[crd.GetName()] = res.Version
		}
	}
	i.mu.Lock()
	i.last[res.Version] = res
	i.mu.Unlock()
}

// Last returns the result of the last successful Ensure of version, and false when there was none.
func (i *Installer) Last(version string) (Result, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	res, ok := i.last[version]
	return res, ok
}

// installed reads the live CRD called name and tells which Istio version it comes from: through the cache first,
// through the API server when the cache does not see it; a version this process applied counts too, since the
// cache may not show it yet.
func (i *Installer) installed(ctx context.Context, name string) (Installed, error) {
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	err := i.cached.Get(ctx, client.ObjectKey{Name: name}, live)
	if apierrors.IsNotFound(err) {
		err = i.uncached.Get(ctx, client.ObjectKey{Name: name}, live)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return Installed{}, fmt.Errorf("reading CRD %s: %w; check the operator's access to CRDs", name, err)
	}
	var inst Installed
	if err == nil {
		inst = InstalledVersion(live)
	}
	if mine := i.newest[name]; mine != "" && (inst.Version == "" || versions.Compare(mine, inst.Version) > 0) {
		inst = Installed{Name: name, Version: mine, By: BySail}
	}
	return inst, nil
}

// Preload reads and parses the CRDs of version ahead of its first Ensure.
func (i *Installer) Preload(version string) error {
	_, err := i.stubsOf(version)
	return err
}

// stubsOf returns the CRDs of version as metadata only (see Installer.stubs), parsing them the first time.
func (i *Installer) stubsOf(version string) ([]*unstructured.Unstructured, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if stubs, ok := i.stubs[version]; ok {
		return stubs, nil
	}
	crds, err := crdsOf(version)
	if err != nil {
		return nil, err
	}
	stubs := make([]*unstructured.Unstructured, 0, len(crds))
	for _, crd := range crds {
		stubs = append(stubs, stub(crd))
	}
	i.stubs[version] = stubs
	return stubs, nil
}

// stub returns u's apiVersion, kind, name, labels and annotations alone.
func stub(u *unstructured.Unstructured) *unstructured.Unstructured {
	out := &unstructured.Unstructured{}
	out.SetGroupVersionKind(u.GroupVersionKind())
	out.SetName(u.GetName())
	out.SetLabels(u.GetLabels())
	out.SetAnnotations(u.GetAnnotations())
	return out
}

// crdsOf reads and parses the CRDs of version from its base chart, labelled, annotated and hashed for applying.
func crdsOf(version string) ([]*unstructured.Unstructured, error) {
	fsys, err := versions.ChartFS(version, versions.ChartBase)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(fsys, "files/crd-all.gen.yaml")
	if err != nil {
		return nil, fmt.Errorf("Istio %s base chart has no CRD file: %w", version, err)
	}
	crds, err := parse(data, version)
	if err != nil {
		return nil, fmt.Errorf("Istio %s CRDs: %w", version, err)
	}
	return crds, nil
}

func parse(data []byte, version string) ([]*unstructured.Unstructured, error) {
	objs, err := manifest.Parse(data)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[apply.LabelManagedBy] = apply.LabelManagedByValue
		u.SetLabels(labels)
		annotations := u.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[AnnotationIstioVersion] = version
		u.SetAnnotations(annotations)
		if err := objectid.SetContentHash(u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}
