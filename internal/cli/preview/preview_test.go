package preview

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/controller/istio"
	"github.com/sail-mesh/sail/internal/controller/istiorevision"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

const sample = "../../../config/samples/istio.yaml"

func planSample(t *testing.T, version string) (*Planner, []Resource, []Group) {
	t.Helper()
	res, err := Read([]string{sample}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPlanner(values.PlatformKubernetes)
	groups, err := p.Plan(res, Options{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	if err := Prepare(OfflineApplier(p.Scheme()), groups); err != nil {
		t.Fatal(err)
	}
	return p, res, groups
}

// TestRenderSampleIsTheOperatorsOutput renders the sample Istio and checks it against what the Istio and
// IstioRevision controllers' functions produce for it, called directly, and that istiod runs the revision's image.
func TestRenderSampleIsTheOperatorsOutput(t *testing.T) {
	for _, version := range []string{"", versions.Default().Versions[len(versions.Default().Versions)-1].Name} {
		t.Run("version="+version, func(t *testing.T) {
			p, res, groups := planSample(t, version)
			if len(groups) != 2 || !groups[0].Revision {
				t.Fatalf("want the Istio's group then its revision's, got %d groups", len(groups))
			}
			ist := res[0].Object.(*sailv1.Istio)
			v, err := versions.Default().Resolve(ist.Spec.Version)
			if err != nil {
				t.Fatal(err)
			}
			if version != "" && v.Name != version {
				t.Fatalf("--version %s not applied: the Istio has %s", version, v.Name)
			}
			want, err := istio.RevisionSpec(ist, istio.RevisionName(ist, v.Name), v, values.PlatformKubernetes)
			if err != nil {
				t.Fatal(err)
			}
			rev := groups[1].Owner.(*sailv1.IstioRevision)
			if !equality.Semantic.DeepEqual(rev.Spec, want) {
				t.Errorf("revision spec differs from the Istio controller's:\n got %+v\nwant %+v", rev.Spec, want)
			}
			if !strings.Contains(yamlOf(t, groups[0].Objects[0]), "name: "+rev.Name) {
				t.Errorf("the Istio's group does not print its revision")
			}
			expected := operatorObjects(t, p, rev)
			if len(expected) != len(groups[1].Objects) {
				t.Fatalf("rendered %d objects, the controller %d", len(groups[1].Objects), len(expected))
			}
			for i := range expected {
				if got, want := yamlOf(t, groups[1].Objects[i]), yamlOf(t, expected[i]); got != want {
					t.Errorf("object %d differs from the controller's:\n%s\nwant\n%s", i, got, want)
				}
			}
			checkIstiodImage(t, groups[1].Objects, rev)
		})
	}
}

// operatorObjects renders and prepares rev the way the IstioRevision controller's lifecycle does.
func operatorObjects(t *testing.T, p *Planner, rev *sailv1.IstioRevision) []*unstructured.Unstructured {
	t.Helper()
	r := &istiorevision.Reconciler{Deps: lifecycle.Deps{Renderer: render.New(nil), Versions: versions.Default(),
		Platform: values.PlatformKubernetes, Scheme: p.Scheme()}}
	objs, err := r.Render(rev)
	if err != nil {
		t.Fatal(err)
	}
	a := OfflineApplier(p.Scheme())
	if err := a.Prepare(objs, rev, rev.Spec.Namespace); err != nil {
		t.Fatal(err)
	}
	return objs
}

func checkIstiodImage(t *testing.T, objs []*unstructured.Unstructured, rev *sailv1.IstioRevision) {
	t.Helper()
	var tag string
	if err := json.Unmarshal(rev.Spec.Values.Global.Tag.Raw, &tag); err != nil {
		t.Fatal(err)
	}
	image := rev.Spec.Values.Global.Hub + "/pilot:" + tag
	for _, u := range objs {
		if u.GetKind() != "Deployment" || u.GetName() != "istiod" {
			continue
		}
		if u.GetLabels()[apply.LabelOwnerName] != rev.Name || u.GetOwnerReferences()[0].Name != rev.Name {
			t.Errorf("istiod Deployment not labelled and owned as the revision's: %v %v", u.GetLabels(), u.GetOwnerReferences())
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		if got := containers[0].(map[string]any)["image"]; got != image {
			t.Errorf("istiod image %v, want %s", got, image)
		}
		return
	}
	t.Error("no istiod Deployment rendered")
}

func yamlOf(t *testing.T, u *unstructured.Unstructured) string {
	t.Helper()
	s, err := normalized(u)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReadErrorsNameFileDocumentAndField reads a file whose second document is invalid.
func TestReadErrorsNameFileDocumentAndField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mesh.yaml")
	data := `apiVersion: sailoperator.io/v1
kind: Istio
metadata:
  name: good
spec:
  namespace: istio-system
---
# a comment-only document is skipped without being counted
---
apiVersion: sailoperator.io/v1
kind: Istio
metadata:
  name: bad
spec:
  nmespace: istio-system
  updateStrategy:
    type: Sideways
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Read([]string{path}, nil)
	var in *InputError
	if !errors.As(err, &in) {
		t.Fatalf("want an InputError, got %v", err)
	}
	if in.File != path || in.Index != 2 {
		t.Errorf("error names %s document %d, want %s document 2", in.File, in.Index, path)
	}
	for _, field := range []string{"spec.nmespace", "spec.updateStrategy.type"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
}
