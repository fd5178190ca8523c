// Command chartcrds copies the generated CRDs (config/crd/bases) and RBAC (config/rbac/role.yaml) into the Helm
// chart (deploy/chart/files), so that the chart installs exactly what controller-gen generated. It runs in
// `make gen`, after controller-gen; internal/devtools/packaging's tests fail when the copies differ from the originals.
//
// Usage (from the repository root): go run ./hack/chartcrds
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

func main() {
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "chartcrds:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	if err := syncDir(filepath.Join(root, "config", "crd", "bases"), filepath.Join(root, "deploy", "chart", "files", "crds")); err != nil {
		return err
	}
	return copyFile(filepath.Join(root, "config", "rbac", "role.yaml"), filepath.Join(root, "deploy", "chart", "files", "rbac", "role.yaml"))
}

// syncDir makes the *.yaml files of dst those of src: copies new and changed ones, removes stale ones.
func syncDir(src, dst string) error {
	files, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no CRDs in %s: run controller-gen first", src)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
		if err := copyFile(f, filepath.Join(dst, filepath.Base(f))); err != nil {
			return err
		}
	}
	existing, err := filepath.Glob(filepath.Join(dst, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range existing {
		if !slices.Contains(names, filepath.Base(f)) {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFile copies src to dst unless dst already has the same content (so its modification time stays).
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
