package crds

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestCopiesMatchConfig fails when the embedded CRDs differ from config/crd/bases.
func TestCopiesMatchConfig(t *testing.T) {
	for _, name := range Files {
		want, err := os.ReadFile(filepath.Join("..", "..", "..", "config", "crd", "bases", name))
		if errors.Is(err, fs.ErrNotExist) {
			if _, err := fs.Stat(FS, name); err == nil {
				t.Errorf("%s is embedded but no longer in config/crd/bases: run go generate ./internal/migrate/...", name)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := fs.ReadFile(FS, name)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("the embedded %s is out of date with config/crd/bases: run go generate ./internal/migrate/...", name)
		}
	}
}
