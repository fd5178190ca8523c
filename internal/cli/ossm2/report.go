package ossm2

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Severity ranks a finding.
type Severity string

// Severities, from the mildest.
const (
	// SeverityInfo needs no action and does not change the exit code.
	SeverityInfo Severity = "info"
	// SeverityWarning: converted, but something was not carried over, behaves differently upstream, or needs an
	// action elsewhere.
	SeverityWarning Severity = "warning"
	// SeverityBlocker: the mesh uses something that has no upstream counterpart and must be removed first.
	SeverityBlocker Severity = "blocker"
	// SeverityError: the input is invalid (not YAML, unknown kind, wrong type, unknown field, ...).
	SeverityError Severity = "error"
)

// Exit codes of a migration.
const (
	// ExitClean: converted, nothing to report but carried-over fields and notes.
	ExitClean = 0
	// ExitWarnings: converted with warnings.
	ExitWarnings = 1
	// ExitBlocked: blocked by a blocker, invalid input, or generated resources that failed validation.
	ExitBlocked = 2
)

// Location says where a finding or a carried-over field is in the input.
type Location struct {
	// File is the input file ("-" for standard input, "cluster" for objects read from the cluster).
	File string `json:"file,omitempty"`
	// Document is the 1-based index of the YAML document in File.
	Document int `json:"document,omitempty"`
	// Line is the line of File where the document starts.
	Line int `json:"line,omitempty"`
	// Item is the object's place inside a List document, e.g. items[2].
	Item string `json:"item,omitempty"`
	// Kind, Namespace and Name identify the input object, when known.
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// Path is the field inside the object, e.g. spec.proxy.adminPort.
	Path string `json:"path,omitempty"`
}

// String renders the location for people: the object and field first, then where to find it.
func (l Location) String() string {
	var parts []string
	if obj := objectString(l.Kind, l.Namespace, l.Name); obj != "" {
		parts = append(parts, obj)
	}
	if l.Path != "" {
		parts = append(parts, l.Path)
	}
	src := l.Source()
	switch {
	case len(parts) == 0:
		return src
	case src == "":
		return strings.Join(parts, " ")
	default:
		return strings.Join(parts, " ") + " (" + src + ")"
	}
}

// Source renders where the object is: file, document, line and list item.
func (l Location) Source() string {
	var s []string
	if l.File != "" {
		s = append(s, l.File)
	}
	if l.Document > 0 {
		s = append(s, fmt.Sprintf("document %d", l.Document))
	}
	if l.Line > 0 {
		s = append(s, fmt.Sprintf("line %d", l.Line))
	}
	if l.Item != "" {
		s = append(s, l.Item)
	}
	return strings.Join(s, ", ")
}

func objectString(kind, namespace, name string) string {
	switch {
	case kind == "":
		return ""
	case name == "":
		return kind
	case namespace == "":
		return kind + " " + name
	default:
		return kind + " " + namespace + "/" + name
	}
}

// ObjectRef identifies a generated object.
type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// String renders the reference as "Kind namespace/name".
func (r ObjectRef) String() string { return objectString(r.Kind, r.Namespace, r.Name) }

// Target is a field of a generated object.
type Target struct {
	ObjectRef
	// Path is the field, e.g. spec.values.pilot.replicaCount; empty for the whole object.
	Path string `json:"path,omitempty"`
}

// String renders the target as "Kind namespace/name path".
func (t Target) String() string {
	if t.Path == "" {
		return t.ObjectRef.String()
	}
	return t.ObjectRef.String() + " " + t.Path
}

// Carried records one input field that was carried over, and where it went.
type Carried struct {
	From Location `json:"from"`
	To   Target   `json:"to"`
	// Note qualifies the mapping, e.g. that the input was an OpenShift Service Mesh 2 default, not a set field.
	Note string `json:"note,omitempty"`
}

// Finding is a warning, blocker, error or informational note about an input field.
type Finding struct {
	Severity Severity `json:"severity"`
	At       Location `json:"at"`
	Message  string   `json:"message"`
}

// ValidationStatus is the outcome of validating one generated object.
type ValidationStatus string

// Validation outcomes.
const (
	// ValidationValid: the object passed.
	ValidationValid ValidationStatus = "valid"
	// ValidationRejected: the object failed; the messages say why.
	ValidationRejected ValidationStatus = "rejected"
	// ValidationSkipped: the object could not be validated (e.g. its CRD is not installed); the messages say why.
	ValidationSkipped ValidationStatus = "skipped"
)

// ValidationResult is the validation outcome of one generated object.
type ValidationResult struct {
	Object   ObjectRef        `json:"object"`
	Status   ValidationStatus `json:"status"`
	Messages []string         `json:"messages,omitempty"`
}

// ValidationReport holds the validation outcome of every generated object.
type ValidationReport struct {
	// Mode is "offline" or "cluster".
	Mode string `json:"mode"`
	// Against says what the objects were validated against.
	Against string             `json:"against"`
	Results []ValidationResult `json:"results"`
}

// Report is everything a migration has to say.
type Report struct {
	// Inputs lists the input objects that were read.
	Inputs []Location `json:"inputs"`
	// Outputs lists the generated objects, in output order.
	Outputs []ObjectRef `json:"outputs"`
	// Carried lists the input fields that were carried over.
	Carried []Carried `json:"carriedOver"`
	// Findings lists errors, blockers, warnings and notes, in the order they were found.
	Findings []Finding `json:"findings"`
	// Validation is set when the generated objects were validated.
	Validation *ValidationReport `json:"validation,omitempty"`
}

func (r *Report) add(sev Severity, at Location, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Severity: sev, At: at, Message: fmt.Sprintf(format, args...)})
}

// Count returns how many findings have severity sev.
func (r *Report) Count(sev Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == sev {
			n++
		}
	}
	return n
}

// Rejected returns how many generated objects failed validation.
func (r *Report) Rejected() int {
	if r.Validation == nil {
		return 0
	}
	n := 0
	for _, v := range r.Validation.Results {
		if v.Status == ValidationRejected {
			n++
		}
	}
	return n
}

// Blocked tells whether the generated resources must not be applied: the input is invalid, a blocker was found,
// or a generated object failed validation.
func (r *Report) Blocked() bool {
	return r.Count(SeverityError) > 0 || r.Count(SeverityBlocker) > 0 || r.Rejected() > 0
}

// ExitCode is 0 when converted cleanly, 1 when converted with warnings, 2 when blocked or the input is invalid.
func (r *Report) ExitCode() int {
	switch {
	case r.Blocked():
		return ExitBlocked
	case r.Count(SeverityWarning) > 0:
		return ExitWarnings
	default:
		return ExitClean
	}
}

// Summary describes the outcome in a few words.
func (r *Report) Summary() string {
	switch {
	case r.Count(SeverityError) > 0:
		return "invalid input"
	case r.Count(SeverityBlocker) > 0:
		return "blocked"
	case r.Rejected() > 0:
		return "generated resources failed validation"
	case r.Count(SeverityWarning) > 0:
		return "converted with warnings"
	default:
		return "converted cleanly"
	}
}

// WriteJSON writes the report as one JSON document, with the generated resources (when resources is not nil) or
// the names of the files they were written to.
func (r *Report) WriteJSON(w io.Writer, resources []map[string]any, files []string) error {
	type alias Report
	out := struct {
		Result   string `json:"result"`
		ExitCode int    `json:"exitCode"`
		*alias
		Resources []map[string]any `json:"resources,omitempty"`
		Files     []string         `json:"files,omitempty"`
	}{Result: r.Summary(), ExitCode: r.ExitCode(), alias: (*alias)(r), Resources: resources, Files: files}
	if out.Inputs == nil {
		out.Inputs = []Location{}
	}
	if out.Outputs == nil {
		out.Outputs = []ObjectRef{}
	}
	if out.Carried == nil {
		out.Carried = []Carried{}
	}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	section := func(title string, n int) bool {
		if n == 0 {
			return false
		}
		fmt.Fprintf(&b, "\n%s (%d)\n", title, n)
		return true
	}
	b.WriteString("sailctl migrate report\n")
	if section("Inputs", len(r.Inputs)) {
		for _, in := range r.Inputs {
			fmt.Fprintf(&b, "  %s\n", in)
		}
	}
	if section("Generated", len(r.Outputs)) {
		for _, o := range r.Outputs {
			fmt.Fprintf(&b, "  %s (%s)\n", o, o.APIVersion)
		}
	}
	if section("Carried over (input -> output)", len(r.Carried)) {
		// Group by input object, in order of first appearance.
		var order []string
		groups := map[string][]Carried{}
		for _, c := range r.Carried {
			from := objectString(c.From.Kind, c.From.Namespace, c.From.Name)
			if _, ok := groups[from]; !ok {
				order = append(order, from)
			}
			groups[from] = append(groups[from], c)
		}
		for _, from := range order {
			fmt.Fprintf(&b, "  %s:\n", from)
			for _, c := range groups[from] {
				path := c.From.Path
				if path == "" {
					path = "(implicit)"
				}
				line := fmt.Sprintf("    %s -> %s", path, c.To)
				if c.Note != "" {
					line += " [" + c.Note + "]"
				}
				b.WriteString(line + "\n")
			}
		}
	}
	for _, sev := range []struct {
		s     Severity
		title string
	}{{SeverityError, "Errors"}, {SeverityBlocker, "Blockers"}, {SeverityWarning, "Warnings"}, {SeverityInfo, "Notes"}} {
		if section(sev.title, r.Count(sev.s)) {
			for _, f := range r.Findings {
				if f.Severity == sev.s {
					at := f.At.String()
					if at == "" {
						at = "input"
					}
					fmt.Fprintf(&b, "  - %s:\n      %s\n", at, f.Message)
				}
			}
		}
	}
	if v := r.Validation; v != nil {
		fmt.Fprintf(&b, "\nValidation (%s, against %s)\n", v.Mode, v.Against)
		for _, res := range v.Results {
			fmt.Fprintf(&b, "  %-8s  %s\n", res.Status, res.Object)
			for _, m := range res.Messages {
				fmt.Fprintf(&b, "            %s\n", m)
			}
		}
	}
	fmt.Fprintf(&b, "\nResult: %s (exit code %d)\n", r.Summary(), r.ExitCode())
	_, err := io.WriteString(w, b.String())
	return err
}
