// Command extractcharts copies the Istio charts and Helm profiles of every version in resources/versions.yaml
// from the istio.io/istio Go module (downloaded and checksum-verified by `go mod download`) into
// resources/charts/<version>/, where the operator embeds them. A version already extracted from the same module
// version is skipped.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// chartSources maps Sail's chart folder names to their folders in the istio.io/istio module.
var chartSources = map[string]string{
	versions.ChartBase:    "manifests/charts/base",
	versions.ChartIstiod:  "manifests/charts/istio-control/istio-discovery",
	versions.ChartCNI:     "manifests/charts/istio-cni",
	versions.ChartZTunnel: "manifests/charts/ztunnel",
	"profiles":            "manifests/helm-profiles",
}

const stampFile = ".module-version"

func main() {
	versionsFile := flag.String("versions", "resources/versions.yaml", "versions list")
	out := flag.String("out", "resources/charts", "folder to extract into")
	flag.Parse()
	if err := run(*versionsFile, *out); err != nil {
		fmt.Fprintln(os.Stderr, "extractcharts:", err)
		os.Exit(1)
	}
}

func run(versionsFile, out string) error {
	data, err := os.ReadFile(versionsFile)
	if err != nil {
		return err
	}
	list, err := versions.Parse(data)
	if err != nil {
		return err
	}
	for _, v := range list.Versions {
		dest := filepath.Join(out, v.Name)
		if stamp, err := os.ReadFile(filepath.Join(dest, stampFile)); err == nil && string(stamp) == v.ModuleVersion {
			fmt.Printf("%s: up to date (istio.io/istio@%s)\n", v.Name, v.ModuleVersion)
			continue
		}
		dir, err := download(v.ModuleVersion)
		if err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
		if err := os.RemoveAll(dest); err != nil {
			return err
		}
		for name, src := range chartSources {
			if err := copyTree(filepath.Join(dir, src), filepath.Join(dest, name)); err != nil {
				return fmt.Errorf("%s: copying %s: %w", v.Name, src, err)
			}
		}
		if err := os.WriteFile(filepath.Join(dest, stampFile), []byte(v.ModuleVersion), 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: extracted from istio.io/istio@%s\n", v.Name, v.ModuleVersion)
	}
	return nil
}

// download fetches istio.io/istio at a module version into the module cache and returns its folder.
func download(moduleVersion string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "istio.io/istio@"+moduleVersion)
	cmd.Stderr = os.Stderr
	outBytes, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jsonErr := json.Unmarshal(outBytes, &info); jsonErr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download istio.io/istio@%s: %s", moduleVersion, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download istio.io/istio@%s: %w", moduleVersion, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download istio.io/istio@%s returned no folder", moduleVersion)
	}
	return info.Dir, nil
}

// copyTree copies regular files from src to dest, making them writable (the module cache is read-only).
func copyTree(src, dest string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dest, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
