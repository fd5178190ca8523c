// Package render turns one of Istio's charts plus Helm values into Kubernetes objects with Helm's template
// engine. Renders are cached by (version, chart, release, values) so an unchanged input is never rendered twice.
package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sail-mesh/sail/internal/pipeline/manifest"
	"github.com/sail-mesh/sail/internal/pipeline/objectid"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// ManagedBy is the value of app.kubernetes.io/managed-by on everything Sail renders (Helm's .Release.Service).
const ManagedBy = "sail-operator"

// Input names one render.
type Input struct {
	// Version is the concrete Istio version.
	Version string
	// Chart is one of versions.ChartBase, ChartIstiod, ChartCNI, ChartZTunnel.
	Chart string
	// Release is Helm's .Release.Name.
	Release string
	// Namespace is Helm's .Release.Namespace; namespaced objects without a namespace are put there.
	Namespace string
	// Values are the user-supplied Helm values (merged over the chart's values.yaml).
	Values map[string]any
}

// ChartSource returns the files of a chart of a version.
type ChartSource func(version, chart string) (fs.FS, error)

// Renderer renders charts and caches the results. It is safe for concurrent use.
type Renderer struct {
	source ChartSource
	// Stats counts renders and cache hits, for metrics and tests.
	stats Stats

	mu     sync.Mutex
	charts map[string]*chartv2.Chart
	cache  map[string][]*unstructured.Unstructured
	order  []string
}

// Stats counts the work a Renderer did.
type Stats struct {
	// Renders is the number of template executions.
	Renders int64
	// CacheHits is the number of renders answered from the cache.
	CacheHits int64
}

// maxCached bounds the render cache; the oldest entries are evicted first.
const maxCached = 64

// New returns a Renderer reading charts from source (versions.ChartFS when nil).
func New(source ChartSource) *Renderer {
	if source == nil {
		source = versions.ChartFS
	}
	return &Renderer{source: source, charts: map[string]*chartv2.Chart{}, cache: map[string][]*unstructured.Unstructured{}}
}

// Stats returns a snapshot of the counters.
func (r *Renderer) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Preload loads the charts of a version ahead of the first render, so that render is not slowed by reading them.
func (r *Renderer) Preload(version string, charts ...string) error {
	for _, c := range charts {
		if _, err := r.chart(version, c); err != nil {
			return err
		}
	}
	return nil
}

// Render returns the objects a chart renders to, sorted by kind, namespace and name. Callers get their own copies
// and may modify them.
func (r *Renderer) Render(in Input) ([]*unstructured.Unstructured, error) {
	key, err := cacheKey(in)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if objs, ok := r.cache[key]; ok {
		r.stats.CacheHits++
		r.mu.Unlock()
		return deepCopy(objs), nil
	}
	r.mu.Unlock()

	chrt, err := r.chart(in.Version, in.Chart)
	if err != nil {
		return nil, err
	}
	objs, err := renderChart(chrt, in)
	if err != nil {
		return nil, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Renders++
	if _, ok := r.cache[key]; !ok {
		r.order = append(r.order, key)
		if len(r.order) > maxCached {
			delete(r.cache, r.order[0])
			r.order = r.order[1:]
		}
	}
	r.cache[key] = objs
	return deepCopy(objs), nil
}

func (r *Renderer) chart(version, name string) (*chartv2.Chart, error) {
	key := version + "/" + name
	r.mu.Lock()
	c, ok := r.charts[key]
	r.mu.Unlock()
	if ok {
		return c, nil
	}
	fsys, err := r.source(version, name)
	if err != nil {
		return nil, err
	}
	c, err = loadChart(fsys)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s of Istio %s: %w", name, version, err)
	}
	if name == versions.ChartBase {
		// Sail installs Istio's CRDs itself (internal/mesh/istiocrds, never downgraded or deleted); the base chart's CRD
		// template is by far its most expensive part and its output would be discarded.
		c.Templates = slices.DeleteFunc(c.Templates, func(f *common.File) bool { return f.Name == "templates/crds.yaml" })
	}
	r.mu.Lock()
	r.charts[key] = c
	r.mu.Unlock()
	return c, nil
}

func loadChart(fsys fs.FS) (*chartv2.Chart, error) {
	var files []*archive.BufferedFile
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		files = append(files, &archive.BufferedFile{Name: path, Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loader.LoadFiles(files)
}

func renderChart(chrt *chartv2.Chart, in Input) ([]*unstructured.Unstructured, error) {
	opts := common.ReleaseOptions{Name: in.Release, Namespace: in.Namespace, IsInstall: true, Revision: 1}
	vals, err := util.ToRenderValues(chrt, copyMap(in.Values), opts, nil)
	if err != nil {
		return nil, fmt.Errorf("chart %s of Istio %s: values: %w", in.Chart, in.Version, err)
	}
	if rel, ok := vals["Release"].(map[string]any); ok {
		rel["Service"] = ManagedBy
	}
	files, err := engine.Render(chrt, vals)
	if err != nil {
		return nil, fmt.Errorf("chart %s of Istio %s failed to render: %w", in.Chart, in.Version, err)
	}
	var objs []*unstructured.Unstructured
	for name, content := range files {
		if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") {
			continue
		}
		parsed, err := parseManifest(content)
		if err != nil {
			return nil, fmt.Errorf("chart %s of Istio %s: %s: %w", in.Chart, in.Version, name, err)
		}
		objs = append(objs, parsed...)
	}
	sort.SliceStable(objs, func(i, j int) bool { return objectid.ID(objs[i]) < objectid.ID(objs[j]) })
	for _, u := range objs {
		if err := objectid.SetContentHash(u); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// parseManifest decodes a rendered template; Sail applies objects one by one, so a List is refused.
func parseManifest(content string) ([]*unstructured.Unstructured, error) {
	objs, err := manifest.Parse([]byte(content))
	if err != nil {
		return nil, err
	}
	for _, u := range objs {
		if u.GetKind() == "List" {
			return nil, fmt.Errorf("rendered a List, which Sail does not apply")
		}
	}
	return objs, nil
}

func cacheKey(in Input) (string, error) {
	data, err := json.Marshal(in) // map keys are sorted, so equal inputs give equal keys
	if err != nil {
		return "", fmt.Errorf("values cannot be encoded: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

func deepCopy(in []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(in))
	for i, u := range in {
		out[i] = u.DeepCopy()
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return runtime.DeepCopyJSON(m) // Helm's coalescing modifies the values it is given
}
