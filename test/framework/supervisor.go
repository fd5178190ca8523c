package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// IstiodSupervisor plays the kubelet for istiod: on each Sync it starts the real istiod of every IstioRevision
// whose Deployment and Service Sail has applied and waits until each serves, and stops the istiod of revisions
// that are gone. Tests that drive the cluster only with commands (the docs test) call Sync between commands, so
// that a pod created by the next command meets a serving injector, as it would once istiod's pod is ready.
type IstiodSupervisor struct {
	cluster *Cluster
	dir     string
	mu      sync.Mutex
	running map[string]*Istiod // by "<namespace>/<revision>/<version>"
}

// NewIstiodSupervisor returns a supervisor whose istiods keep their working directories under dir.
func NewIstiodSupervisor(c *Cluster, dir string) *IstiodSupervisor {
	return &IstiodSupervisor{cluster: c, dir: dir, running: map[string]*Istiod{}}
}

// Sync starts the istiods of installed revisions that do not run yet (waiting until each serves), and stops those
// of revisions that are gone or changed version or namespace.
func (s *IstiodSupervisor) Sync(ctx context.Context) error {
	list := &sailv1.IstioRevisionList{}
	if err := s.cluster.Client.List(ctx, list); err != nil {
		return err
	}
	want := map[string]sailv1.IstioRevision{}
	for _, rev := range list.Items {
		if rev.DeletionTimestamp.IsZero() && s.cluster.IstiodInstalled(ctx, rev.Spec.Namespace, rev.Name) == nil {
			want[rev.Spec.Namespace+"/"+rev.Name+"/"+rev.Spec.Version] = rev
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, in := range s.running {
		if _, ok := want[key]; !ok {
			in.Stop()
			delete(s.running, key)
		}
	}
	for key, rev := range want {
		if _, ok := s.running[key]; ok {
			continue
		}
		in, err := s.start(ctx, rev)
		if err != nil {
			return fmt.Errorf("istiod of revision %s: %w", rev.Name, err)
		}
		s.running[key] = in
	}
	return nil
}

func (s *IstiodSupervisor) start(ctx context.Context, rev sailv1.IstioRevision) (*Istiod, error) {
	// istiod lists Istio's kinds when it starts: their CRDs must be served first, as they are long before a pod of
	// istiod starts in a real cluster.
	for s.cluster.IstioCRDsEstablished(ctx) != nil {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("Istio's CRDs are not established: %w", s.cluster.IstioCRDsEstablished(ctx))
		case <-time.After(200 * time.Millisecond):
		}
	}
	dir, err := os.MkdirTemp(s.dir, rev.Name+"-")
	if err != nil {
		return nil, err
	}
	in, err := s.cluster.StartIstiod(ctx, IstiodOptions{Namespace: rev.Spec.Namespace, Revision: rev.Name,
		Version: rev.Spec.Version, Dir: dir})
	if err != nil {
		return nil, err
	}
	if err := in.WaitReady(ctx); err != nil {
		in.Stop()
		return nil, fmt.Errorf("%w (log: %s)", err, filepath.Join(dir, "istiod.log"))
	}
	return in, nil
}

// Running returns the "<namespace>/<revision>/<version>" of each istiod that runs, sorted.
func (s *IstiodSupervisor) Running() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.running))
	for key := range s.running {
		out = append(out, key)
	}
	sort.Strings(out)
	return out
}

// Stop stops every istiod.
func (s *IstiodSupervisor) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, in := range s.running {
		in.Stop()
		delete(s.running, key)
	}
}

// IstioCRDsEstablished returns nil when at least one Istio CRD (*.istio.io) exists and every one is established,
// and otherwise an error that names what is missing.
func (c *Cluster) IstioCRDsEstablished(ctx context.Context) error {
	list := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := c.Client.List(ctx, list); err != nil {
		return err
	}
	count := 0
	for _, crd := range list.Items {
		if !strings.HasSuffix(crd.Spec.Group, "istio.io") {
			continue
		}
		count++
		if !crdEstablished(&crd) {
			return fmt.Errorf("%s is not established", crd.Name)
		}
	}
	if count == 0 {
		return fmt.Errorf("no Istio CRD yet")
	}
	return nil
}

func crdEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextensionsv1.Established {
			return cond.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// Run calls Sync every interval until ctx ends, as a kubelet would start istiod soon after its Deployment
// appears; each error goes to report (the next round tries again).
func (s *IstiodSupervisor) Run(ctx context.Context, interval time.Duration, report func(error)) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
				report(err)
			}
		}
	}
}
