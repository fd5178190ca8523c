package validate

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	crds "github.com/sail-mesh/sail/config/crd"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// OfflineOptions say where offline validation takes its schemas from.
type OfflineOptions struct {
	// CRDDir, when set, is a folder of CRD files (e.g. config/crd/bases) used instead of the embedded Sail CRDs.
	CRDDir string
	// IstioVersion is the Istio version whose CRDs (security.istio.io, telemetry.istio.io, ...) are used, from the
	// charts embedded in Sail.
	IstioVersion string
}

// LoadSchemas loads the Sail CRDs (embedded, or from opts.CRDDir) and Istio's CRDs of opts.IstioVersion.
func LoadSchemas(opts OfflineOptions) (*SchemaSet, error) {
	s := &SchemaSet{crds: map[schema.GroupVersionKind]*crdSchema{}}
	var err error
	if opts.CRDDir != "" {
		err = s.addDir(opts.CRDDir)
	} else {
		err = s.addEmbedded()
	}
	if err != nil {
		return nil, err
	}
	if opts.IstioVersion != "" {
		s.addIstio(opts.IstioVersion)
	}
	return s, nil
}

// addDir loads the CRDs of the .yaml and .yml files of dir.
func (s *SchemaSet) addDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading the CRD folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || (!strings.HasSuffix(e.Name(), ".yaml") && !strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := s.add(data); err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
	}
	s.sources = append(s.sources, "the CRDs in "+dir)
	return nil
}

// addEmbedded loads the Sail CRDs embedded in sailctl.
func (s *SchemaSet) addEmbedded() error {
	files, err := fs.Glob(crds.FS, "bases/*.yaml")
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := fs.ReadFile(crds.FS, f)
		if err != nil {
			return err
		}
		if err := s.add(data); err != nil {
			return fmt.Errorf("embedded %s: %w", f, err)
		}
	}
	s.sources = append(s.sources, "the Sail CRDs embedded in sailctl")
	return nil
}

// addIstio loads the CRDs of an Istio version from its embedded base chart; when they cannot be loaded, the
// sources say so and validation goes on without them.
func (s *SchemaSet) addIstio(version string) {
	base, err := versions.ChartFS(version, versions.ChartBase)
	if err == nil {
		var data []byte
		if data, err = fs.ReadFile(base, "files/crd-all.gen.yaml"); err == nil {
			err = s.add(data)
		}
	}
	if err != nil {
		s.sources = append(s.sources, fmt.Sprintf("(Istio %s CRDs unavailable: %v)", version, err))
	} else {
		s.sources = append(s.sources, "the CRDs of Istio "+version)
	}
}

func bufioReader(data []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(data)) }
