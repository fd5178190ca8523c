// Package bench measures Sail against a real API server: install time against kubectl, readiness latency,
// write requests (from the API server's audit log), no-op reconcile cost and memory. Figures are reported as
// benchmark metrics and written to $SAIL_BENCH_OUT/<name>.txt (make bench sets it to _output/).
package bench

import (
	"bufio"
	"encoding/json"
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

// auditEvent is the part of an audit.k8s.io/v1 Event the benchmarks read.
type auditEvent struct {
	Verb           string    `json:"verb"`
	UserAgent      string    `json:"userAgent"`
	RequestURI     string    `json:"requestURI"`
	Stage          string    `json:"stage"`
	StageTimestamp time.Time `json:"stageTimestamp"`
	ObjectRef      *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Name        string `json:"name"`
	} `json:"objectRef"`
}

var writeVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true, "apply": true}

// countWrites counts the write requests sent by user agents starting with agent in [from, to), by resource.
func countWrites(path, agent string, from, to time.Time) (int, map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	total := 0
	by := map[string]int{}
	for sc.Scan() {
		var e auditEvent
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Stage != "ResponseComplete" || !writeVerbs[e.Verb] {
			continue
		}
		if !strings.HasPrefix(e.UserAgent, agent) || e.StageTimestamp.Before(from) || !e.StageTimestamp.Before(to) {
			continue
		}
		total++
		res := e.Verb
		if e.ObjectRef != nil {
			res += " " + e.ObjectRef.Resource
			if e.ObjectRef.Subresource != "" {
				res += "/" + e.ObjectRef.Subresource
			}
		}
		by[res]++
	}
	return total, by, sc.Err()
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
