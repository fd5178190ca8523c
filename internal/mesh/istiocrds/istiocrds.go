// Package istiocrds installs and upgrades Istio's own CRDs (networking.istio.io, security.istio.io, ...) from the
// base chart of the newest Istio version in use. CRDs are never downgraded and never deleted.
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
	applier *apply.Applier
	reader  client.Reader

	mu     sync.Mutex
	parsed map[string][]*unstructured.Unstructured
}

// NewInstaller returns an Installer that applies through applier and reads live CRDs through reader.
func NewInstaller(applier *apply.Applier, reader client.Reader) *Installer {
	return &Installer{applier: applier, reader: reader, parsed: map[string][]*unstructured.Unstructured{}}
}

// Ensure installs or upgrades Istio's CRDs to those of version. A CRD whose live copy comes from a newer Istio
// version is left as it is.
func (i *Installer) Ensure(ctx context.Context, version string) error {
	crds, err := i.crds(version)
	if err != nil {
		return err
	}
	var todo []*unstructured.Unstructured
	for _, crd := range crds {
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
		err := i.reader.Get(ctx, client.ObjectKey{Name: crd.GetName()}, live)
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading CRD %s: %w", crd.GetName(), err)
		}
		if err == nil {
			if liveVersion := live.Annotations[AnnotationIstioVersion]; liveVersion != "" && versions.Compare(liveVersion, version) > 0 {
				continue
			}
		}
		todo = append(todo, crd) // Apply only reads objects that carry their hash
	}
	if _, err := i.applier.Apply(ctx, todo); err != nil {
		return fmt.Errorf("installing Istio %s CRDs: %w", version, err)
	}
	return nil
}

func (i *Installer) crds(version string) ([]*unstructured.Unstructured, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if crds, ok := i.parsed[version]; ok {
		return crds, nil
	}
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
	i.parsed[version] = crds
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
