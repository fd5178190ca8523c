// Package memlimit sets the Go runtime's soft memory limit of the operator at start: GOMEMLIMIT when it is set,
// otherwise a fraction of the container's memory limit (its cgroup's), otherwise the operator's own default. With
// a limit, the garbage collector works harder as the process nears it instead of letting the heap grow to twice
// what is live (GOGC=100), which keeps the resident memory of an operator that caches thousands of pods low.
package memlimit

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Where a limit comes from.
const (
	// FromEnv: the GOMEMLIMIT environment variable, which the Go runtime applies itself.
	FromEnv = "GOMEMLIMIT"
	// FromCgroup: CgroupFraction of the container's cgroup memory limit.
	FromCgroup = "cgroup"
	// FromDefault: the default given to Set (the --memory-limit flag).
	FromDefault = "default"
	// None: no limit (Go's own default, math.MaxInt64).
	None = "none"
)

// CgroupFraction is the share of the container's memory limit given to the Go runtime: the rest is left to what the
// runtime does not count (the binary's pages, memory the kernel has not taken back yet).
const CgroupFraction = 0.9

// cgroupFiles are where cgroup v2 and v1 hold a container's memory limit.
var cgroupFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// Set applies the soft memory limit: nothing when GOMEMLIMIT is set (the runtime has applied it), else
// CgroupFraction of the cgroup's memory limit when there is one, else fallback bytes (0 or less: no limit). It
// returns the limit in effect and where it came from.
func Set(fallback int64) (int64, string) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), FromEnv
	}
	if limit, ok := cgroupLimit(cgroupFiles); ok {
		return set(int64(float64(limit) * CgroupFraction)), FromCgroup
	}
	if fallback > 0 {
		return set(fallback), FromDefault
	}
	return debug.SetMemoryLimit(-1), None
}

func set(limit int64) int64 {
	debug.SetMemoryLimit(limit)
	return limit
}

// cgroupLimit reads the first of files that exists; ok is false when none does or it says there is no limit
// ("max" in v2, a value near math.MaxInt64 in v1).
func cgroupLimit(files []string) (int64, bool) {
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		text := strings.TrimSpace(string(data))
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n <= 0 || n >= math.MaxInt64/2 {
			return 0, false // "max", or v1's page-rounded "unlimited"
		}
		return n, true
	}
	return 0, false
}

// Describe says in words what limit is in effect, for the operator's start-up log.
func Describe(limit int64, source string) string {
	if source == None {
		return "no Go memory limit"
	}
	return fmt.Sprintf("Go soft memory limit %d MiB (from %s)", limit>>20, source)
}
