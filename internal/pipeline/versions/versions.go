// Package versions knows which Istio versions Sail supports, resolves aliases such as v1.31-latest to a concrete
// version, and gives access to each version's embedded charts and profiles.
package versions

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/resources"
)

// Version is one supported Istio version.
type Version struct {
	// Name is the version as users write it, e.g. v1.31.0.
	Name string `json:"name"`
	// ModuleVersion is the istio.io/istio Go module version the charts come from.
	ModuleVersion string `json:"moduleVersion"`
	// Hub is the image registry of the version's images, e.g. docker.io/istio.
	Hub string `json:"hub"`
	// Tag is the image tag of the version's images.
	Tag string `json:"tag"`
}

// Alias names a Version indirectly, e.g. latest.
type Alias struct {
	// Name is the alias, e.g. v1.31-latest.
	Name string `json:"name"`
	// Version is the Name of the version the alias points at.
	Version string `json:"version"`
}

// List is the content of versions.yaml.
type List struct {
	// Versions lists the supported versions, newest first.
	Versions []Version `json:"versions"`
	// Aliases lists the aliases.
	Aliases []Alias `json:"aliases"`
}

// Parse reads and checks a versions.yaml document.
func Parse(data []byte) (*List, error) {
	var l List
	if err := yaml.UnmarshalStrict(data, &l); err != nil {
		return nil, fmt.Errorf("parsing versions list: %w", err)
	}
	if len(l.Versions) == 0 {
		return nil, fmt.Errorf("versions list names no version")
	}
	seen := map[string]bool{}
	for _, v := range l.Versions {
		if _, _, err := MinorOf(v.Name); err != nil {
			return nil, err
		}
		if v.ModuleVersion == "" || v.Hub == "" || v.Tag == "" {
			return nil, fmt.Errorf("version %s: moduleVersion, hub and tag are required", v.Name)
		}
		if seen[v.Name] {
			return nil, fmt.Errorf("version %s is listed twice", v.Name)
		}
		seen[v.Name] = true
	}
	for _, a := range l.Aliases {
		if seen[a.Name] {
			return nil, fmt.Errorf("alias %s has the name of a version or another alias", a.Name)
		}
		if _, err := l.find(a.Version); err != nil {
			return nil, fmt.Errorf("alias %s: %w", a.Name, err)
		}
		seen[a.Name] = true
	}
	slices.SortStableFunc(l.Versions, func(a, b Version) int { return -Compare(a.Name, b.Name) })
	return &l, nil
}

// Default returns the embedded list. It panics when the embedded versions.yaml is invalid, which a unit test
// rules out for every build.
func Default() *List {
	data, err := fs.ReadFile(resources.FS, "versions.yaml")
	if err != nil {
		panic(err)
	}
	l, err := Parse(data)
	if err != nil {
		panic(err)
	}
	return l
}

// Resolve returns the concrete version that name (a version or an alias) stands for.
func (l *List) Resolve(name string) (Version, error) {
	for _, a := range l.Aliases {
		if a.Name == name {
			name = a.Version
			break
		}
	}
	return l.find(name)
}

// Newest returns the newest supported version.
func (l *List) Newest() Version { return l.Versions[0] }

// Names returns every version name followed by every alias name.
func (l *List) Names() []string {
	var out []string
	for _, v := range l.Versions {
		out = append(out, v.Name)
	}
	for _, a := range l.Aliases {
		out = append(out, a.Name)
	}
	return out
}

func (l *List) find(name string) (Version, error) {
	for _, v := range l.Versions {
		if v.Name == name {
			return v, nil
		}
	}
	return Version{}, fmt.Errorf("version %q is not supported; supported versions and aliases: %s",
		name, strings.Join(l.Names(), ", "))
}

// MinorOf returns the major and minor number of a version name such as v1.31.0.
func MinorOf(name string) (major, minor int, err error) {
	parts := strings.SplitN(strings.TrimPrefix(name, "v"), ".", 3)
	if !strings.HasPrefix(name, "v") || len(parts) < 2 {
		return 0, 0, fmt.Errorf("version name %q is not of the form vMAJOR.MINOR.PATCH", name)
	}
	if major, err = strconv.Atoi(parts[0]); err == nil {
		minor, err = strconv.Atoi(parts[1])
	}
	if err != nil {
		return 0, 0, fmt.Errorf("version name %q is not of the form vMAJOR.MINOR.PATCH", name)
	}
	return major, minor, nil
}

// Compare orders two version names numerically by major, minor and patch; names it cannot parse sort first.
func Compare(a, b string) int {
	return slices.Compare(numbers(a), numbers(b))
}

func numbers(name string) []int {
	var out []int
	for _, p := range strings.Split(strings.TrimPrefix(name, "v"), ".") {
		n, err := strconv.Atoi(strings.SplitN(p, "-", 2)[0])
		if err != nil {
			n = -1
		}
		out = append(out, n)
	}
	return out
}

// MinorDistance returns how many minor versions separate from and to (negative for a downgrade); both must be of
// the same major version.
func MinorDistance(from, to string) (int, error) {
	fMaj, fMin, err := MinorOf(from)
	if err != nil {
		return 0, err
	}
	tMaj, tMin, err := MinorOf(to)
	if err != nil {
		return 0, err
	}
	if fMaj != tMaj {
		return 0, fmt.Errorf("cannot compare %s and %s: different major versions", from, to)
	}
	return tMin - fMin, nil
}
