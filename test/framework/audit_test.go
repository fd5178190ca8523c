package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// auditLine is one ResponseComplete write event with a response body, as WriteAuditPolicy logs it.
func auditLine(verb, agent, resource, name, rv string, at time.Time) string {
	return fmt.Sprintf(`{"stage":"ResponseComplete","verb":%q,"userAgent":%q,"stageTimestamp":%q,`+
		`"objectRef":{"resource":%q,"namespace":"ns","name":%q},"responseObject":{"kind":"X","metadata":{"resourceVersion":%q}}}`,
		verb, agent, at.Format(time.RFC3339Nano), resource, name, rv)
}

func TestNoopWrites_FindsTheWritesThatLeftTheResourceVersion(t *testing.T) {
	t0 := time.Now().UTC()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Millisecond) }
	lines := []string{
		auditLine("create", "test", "configmaps", "a", "1", at(0)),
		auditLine("patch", "sail-operator/v0", "configmaps", "a", "2", at(1)),  // changed it
		auditLine("patch", "sail-operator/v0", "configmaps", "a", "2", at(2)),  // changed nothing
		auditLine("patch", "kubectl", "configmaps", "a", "2", at(3)),           // nothing, but not the operator
		auditLine("update", "sail-operator/v0", "configmaps", "b", "5", at(4)), // first seen: cannot tell
		auditLine("patch", "sail-operator/v0", "configmaps", "a", "7", at(5)),  // changed it
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := NoopWrites(path, "sail-operator", t0, at(10))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "a" || !got[0].Time.Equal(at(2)) {
		t.Fatalf("want the operator's second patch of a only, got %v", got)
	}
	if got, _ := NoopWrites(path, "sail-operator", at(3), at(10)); len(got) != 0 {
		t.Fatalf("a write before from is not reported, got %v", got)
	}
}

func TestNoopWrites_RefusesALogWithoutBodies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	line := `{"stage":"ResponseComplete","verb":"patch","userAgent":"sail-operator","objectRef":{"resource":"configmaps","name":"a"}}`
	if err := os.WriteFile(path, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NoopWrites(path, "sail-operator", time.Time{}, time.Now()); err == nil {
		t.Fatal("a log without response bodies must be an error, not zero no-op writes")
	}
}
