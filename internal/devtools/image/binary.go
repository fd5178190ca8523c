package image

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// versionPackage is the package whose Version and Commit variables `sail-operator --version` prints.
const versionPackage = "github.com/sail-mesh/sail/internal/operator"

// StampFlags are the -X linker flags that stamp the operator's version and commit, as `make build` sets them.
func StampFlags(version, commit string) string {
	return fmt.Sprintf("-X %s.Version=%s -X %s.Commit=%s", versionPackage, version, versionPackage, commit)
}

// BinaryOptions describe the operator binary BuildBinary makes.
type BinaryOptions struct {
	// Root is the repository root (the module with ./cmd/sail-operator), with the Istio charts extracted
	// (make resources).
	Root string
	// Out is the path of the binary to write.
	Out string
	// Version and Commit are stamped into the binary.
	Version, Commit string
	// Arch is the GOARCH to build for (default: amd64); the OS is always linux.
	Arch string
}

// BuildBinary builds the static operator binary with `go build`: CGO off, paths trimmed, symbol tables
// stripped, the version and commit stamped, as the Dockerfile's builder stage does.
func BuildBinary(ctx context.Context, o BinaryOptions) error {
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w "+StampFlags(o.Version, o.Commit),
		"-o", o.Out, "./cmd/sail-operator")
	cmd.Dir = o.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.Arch)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("image: building the operator binary (run `make resources` first if the Istio charts are missing): %w\n%s",
			err, strings.TrimSpace(string(out)))
	}
	return nil
}

// elfMachines maps GOARCH to the ELF machine of its binaries.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "ppc64le": elf.EM_PPC64,
	"s390x": elf.EM_S390}

// checkStatic fails unless path is a Linux executable for arch without a program interpreter (a dynamically
// linked binary names its loader there, and the image has none).
func checkStatic(path, arch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("image: %s is not a Linux executable: %w", path, err)
	}
	defer f.Close()
	want, ok := elfMachines[arch]
	if !ok {
		return fmt.Errorf("image: unsupported architecture %q (one of amd64, arm64, ppc64le, s390x)", arch)
	}
	if f.Machine != want {
		return fmt.Errorf("image: %s is built for %s, not %s: build it with GOARCH=%s", path, f.Machine, arch, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("image: %s is dynamically linked and the image has no libc: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}
