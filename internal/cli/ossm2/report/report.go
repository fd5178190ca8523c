// Package report holds everything an OpenShift Service Mesh 2 migration has to say: the inputs read, the objects
// generated, each input field carried over and where it went, the findings (errors, blockers, warnings, notes)
// with the input field they are about, the validation outcome, and the exit code. It renders all of it as text
// for people or as JSON.
package report

import (
	"fmt"

	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
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

// Report is everything a migration has to say.
type Report struct {
	// Inputs lists the input objects that were read.
	Inputs []Location `json:"inputs"`
	// Outputs lists the generated objects, in output order.
	Outputs []resource.Ref `json:"outputs"`
	// Carried lists the input fields that were carried over.
	Carried []Carried `json:"carriedOver"`
	// Findings lists errors, blockers, warnings and notes, in the order they were found.
	Findings []Finding `json:"findings"`
	// Validation is set when the generated objects were validated.
	Validation *ValidationReport `json:"validation,omitempty"`
}

// Add appends a finding whose message is format with args.
func (r *Report) Add(sev Severity, at Location, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Severity: sev, At: at, Message: fmt.Sprintf(format, args...)})
}

// Carry records that the input field at from was carried over to the field to of a generated object.
func (r *Report) Carry(from Location, to Target, note string) {
	r.Carried = append(r.Carried, Carried{From: from, To: to, Note: note})
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
