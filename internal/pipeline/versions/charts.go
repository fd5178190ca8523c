package versions

import (
	"fmt"
	"io/fs"

	"github.com/sail-mesh/sail/resources"
)

// Chart names, as folders under charts/<version>/.
const (
	ChartBase    = "base"
	ChartIstiod  = "istiod"
	ChartCNI     = "cni"
	ChartZTunnel = "ztunnel"
)

// ChartFS returns the files of one chart of a concrete version, rooted at the chart's folder. It fails with an
// explanation when the charts were not extracted into this build.
func ChartFS(version, chart string) (fs.FS, error) {
	dir := "charts/" + version + "/" + chart
	if _, err := fs.Stat(resources.FS, dir+"/Chart.yaml"); err != nil {
		return nil, fmt.Errorf("chart %s of Istio %s is not embedded in this build of Sail "+
			"(run `make resources` before building): %w", chart, version, err)
	}
	return fs.Sub(resources.FS, dir)
}

// ProfileFile returns the Helm values of a named Istio profile (e.g. ambient, platform-openshift) of a concrete
// version, or ok=false when the version has no such profile.
func ProfileFile(version, name string) (data []byte, ok bool, err error) {
	data, err = fs.ReadFile(resources.FS, "charts/"+version+"/profiles/"+name+".yaml")
	if err != nil {
		if _, statErr := fs.Stat(resources.FS, "charts/"+version+"/profiles"); statErr != nil {
			return nil, false, fmt.Errorf("profiles of Istio %s are not embedded in this build of Sail "+
				"(run `make resources` before building): %w", version, statErr)
		}
		return nil, false, nil
	}
	return data, true, nil
}
