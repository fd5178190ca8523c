package framework

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// AuditPolicy is the path of an audit policy that records every request at Metadata level, so that tests and
// benchmarks can count requests by user agent (pass it to StartCluster).
func AuditPolicy() string {
	return filepath.Join(testenv.RepoRoot(), "test", "framework", "testdata", "audit-policy.yaml")
}

// auditEvent is the part of an audit.k8s.io/v1 Event that is counted.
type auditEvent struct {
	Verb           string    `json:"verb"`
	UserAgent      string    `json:"userAgent"`
	RequestURI     string    `json:"requestURI"`
	Stage          string    `json:"stage"`
	StageTimestamp time.Time `json:"stageTimestamp"`
	ObjectRef      *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
}

var writeVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true, "apply": true}

// CountWrites counts the write requests in the audit log at path sent by user agents starting with agent in
// [from, to), in all and by "<verb> <resource>[/<subresource>]".
func CountWrites(path, agent string, from, to time.Time) (int, map[string]int, error) {
	events, err := AuditWrites(path, agent, from, to)
	if err != nil {
		return 0, nil, err
	}
	by := map[string]int{}
	for _, e := range events {
		by[strings.TrimSpace(e.Verb+" "+e.Resource)]++
	}
	return len(events), by, nil
}

// AuditWrite is one write request read from an audit log.
type AuditWrite struct {
	// Verb is the request's verb (create, update, patch, delete, ...).
	Verb string
	// Resource is the resource, with "/<subresource>" when there is one.
	Resource string
	// Namespace and Name name the object written.
	Namespace, Name string
	// UserAgent is the client's user agent.
	UserAgent string
	// Time is when the request completed.
	Time time.Time
}

// AuditWrites returns the write requests in the audit log at path sent by user agents starting with agent in
// [from, to).
func AuditWrites(path, agent string, from, to time.Time) ([]AuditWrite, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var out []AuditWrite
	for sc.Scan() {
		var e auditEvent
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Stage != "ResponseComplete" || !writeVerbs[e.Verb] {
			continue
		}
		if !strings.HasPrefix(e.UserAgent, agent) || e.StageTimestamp.Before(from) || !e.StageTimestamp.Before(to) {
			continue
		}
		out = append(out, writeOf(e))
	}
	return out, sc.Err()
}

func writeOf(e auditEvent) AuditWrite {
	w := AuditWrite{Verb: e.Verb, UserAgent: e.UserAgent, Time: e.StageTimestamp}
	if e.ObjectRef != nil {
		w.Resource, w.Namespace, w.Name = e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name
		if e.ObjectRef.Subresource != "" {
			w.Resource += "/" + e.ObjectRef.Subresource
		}
	}
	return w
}

// AuditTail reads an audit log as the API server writes it: each Next returns the write requests of the user
// agent logged since the previous call. It is how a test acts on the k-th write of the operator while it runs.
type AuditTail struct {
	path, agent string
	offset      int64
	partial     []byte
}

// NewAuditTail starts reading the audit log at path from its current end, keeping the writes of user agents
// starting with agent.
func NewAuditTail(path, agent string) (*AuditTail, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return &AuditTail{path: path, agent: agent, offset: st.Size()}, nil
}

// Next returns the writes completed since the previous call (or since NewAuditTail), in log order.
func (t *AuditTail) Next() ([]AuditWrite, error) {
	f, err := os.Open(t.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(t.offset, 0); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	t.offset += int64(len(data))
	data = append(t.partial, data...)
	end := bytes.LastIndexByte(data, '\n') + 1
	t.partial = append([]byte(nil), data[end:]...)
	var out []AuditWrite
	for _, line := range bytes.Split(data[:end], []byte{'\n'}) {
		var e auditEvent
		if json.Unmarshal(line, &e) != nil || e.Stage != "ResponseComplete" || !writeVerbs[e.Verb] || !strings.HasPrefix(e.UserAgent, t.agent) {
			continue
		}
		out = append(out, writeOf(e))
	}
	return out, nil
}

// String describes a write as "<verb> <resource> <namespace>/<name>", for test messages.
func (w AuditWrite) String() string {
	return w.Verb + " " + w.Resource + " " + w.Namespace + "/" + w.Name
}

// WriteAuditPolicy is the path of an audit policy that, beyond AuditPolicy, records the response bodies of the
// writes to everything but pods, nodes, leases and events, so NoopWrites can find the writes that changed nothing.
func WriteAuditPolicy() string {
	return filepath.Join(testenv.RepoRoot(), "test", "framework", "testdata", "audit-policy-writes.yaml")
}

// bodyEvent is the part of an audit event that NoopWrites reads: the object's resourceVersion in the response.
type bodyEvent struct {
	auditEvent
	ResponseObject *struct {
		Kind     string `json:"kind"`
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	} `json:"responseObject"`
}

// NoopWrites returns the updates and patches in [from, to) by user agents starting with agent that changed nothing:
// the object's resourceVersion in the response is the one an earlier write (by anyone) left it at. It needs an audit
// log written with WriteAuditPolicy; objects the policy logs without bodies are never reported.
func NoopWrites(path, agent string, from, to time.Time) ([]AuditWrite, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	last := map[string]string{} // "<resource> <namespace>/<name>" -> the resourceVersion the last write left
	var out []AuditWrite
	bodies := 0
	for sc.Scan() {
		var e bodyEvent
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Stage != "ResponseComplete" || !writeVerbs[e.Verb] || e.ObjectRef == nil {
			continue
		}
		if e.ResponseObject == nil || e.ResponseObject.Kind == "Status" || e.ResponseObject.Metadata.ResourceVersion == "" {
			continue
		}
		bodies++
		key := e.ObjectRef.Resource + " " + e.ObjectRef.Namespace + "/" + e.ObjectRef.Name
		rv := e.ResponseObject.Metadata.ResourceVersion
		prev, seen := last[key]
		last[key] = rv
		if !seen || prev != rv || e.Verb == "create" || !strings.HasPrefix(e.UserAgent, agent) {
			continue
		}
		if !e.StageTimestamp.Before(from) && e.StageTimestamp.Before(to) {
			out = append(out, writeOf(e.auditEvent))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if bodies == 0 {
		return nil, fmt.Errorf("the audit log %s holds no response bodies: start the cluster with WriteAuditPolicy (delete a cluster started with another policy)", path)
	}
	return out, nil
}
