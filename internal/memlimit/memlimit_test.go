package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestCgroupLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2, unlimited, v1Unlimited := write("v2", "536870912\n"), write("max", "max\n"), write("v1", "9223372036854771712\n")
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		files []string
		want  int64
		ok    bool
	}{
		{[]string{v2}, 536870912, true},
		{[]string{missing, v2}, 536870912, true},
		{[]string{unlimited, v2}, 0, false},
		{[]string{v1Unlimited}, 0, false},
		{[]string{missing}, 0, false},
	} {
		got, ok := cgroupLimit(c.files)
		if got != c.want || ok != c.ok {
			t.Errorf("cgroupLimit(%v) = %d, %v; want %d, %v", c.files, got, ok, c.want, c.ok)
		}
	}
}

func TestSet_DefaultWithoutCgroupLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "")
	defer func(files []string) { cgroupFiles = files }(cgroupFiles)
	cgroupFiles = []string{filepath.Join(t.TempDir(), "missing")}
	if limit, source := Set(64 << 20); limit != 64<<20 || source != FromDefault || debug.SetMemoryLimit(-1) != 64<<20 {
		t.Fatalf("Set(64 MiB) = %d, %s", limit, source)
	}
	if _, source := Set(0); source != None {
		t.Fatalf("Set(0) without a cgroup limit: %s, want %s", source, None)
	}
	t.Setenv("GOMEMLIMIT", "100MiB")
	if _, source := Set(64 << 20); source != FromEnv {
		t.Fatalf("GOMEMLIMIT set: %s, want %s", source, FromEnv)
	}
}
