// Package bench measures Sail against a real API server: install time against kubectl, readiness latency,
// write requests (from the API server's audit log), no-op reconcile cost and memory. Figures are reported as
// benchmark metrics and written to $SAIL_BENCH_OUT/<name>.txt (make bench sets it to _output/).
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// report collects named figures and writes them out.
type report struct {
	name  string
	lines []string
}

func (r *report) add(b *testing.B, metric string, value float64, unit, note string) {
	b.ReportMetric(value, unit)
	line := fmt.Sprintf("%-44s %12.3f %-10s %s", metric, value, unit, note)
	r.lines = append(r.lines, line)
	b.Log(line)
}

func (r *report) write(b *testing.B) {
	dir := os.Getenv("SAIL_BENCH_OUT")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	content := fmt.Sprintf("# %s (%s)\n%s\n", r.name, time.Now().UTC().Format(time.RFC3339), strings.Join(r.lines, "\n"))
	if err := os.WriteFile(filepath.Join(dir, "bench-"+r.name+".txt"), []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}

func summarize(by map[string]int) string {
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, by[k]))
	}
	return strings.Join(parts, ", ")
}

// rssKiB returns the resident set size of a process.
func rssKiB(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kib float64
			_, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:")), "%f kB", &kib)
			return kib, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func formatInt(n int64) string { return fmt.Sprintf("%d", n) }
