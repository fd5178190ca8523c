//go:build ignore

// copy.go refreshes the embedded CRDs from config/crd/bases: go generate ./internal/migrate/...
package main

import (
	"errors"
	"io/fs"
	"log"
	"os"
	"path/filepath"
)

func main() {
	for _, name := range []string{"sailoperator.io_istios.yaml", "sailoperator.io_istiocnis.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "..", "config", "crd", "bases", name))
		if errors.Is(err, fs.ErrNotExist) {
			_ = os.Remove(name)
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
