package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

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
	out.Inputs = orEmpty(out.Inputs)
	out.Outputs = orEmpty(out.Outputs)
	out.Carried = orEmpty(out.Carried)
	out.Findings = orEmpty(out.Findings)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// orEmpty returns an empty list for nil, so that JSON has [] rather than null.
func orEmpty[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

// severityTitles are the text report's finding sections, in order.
var severityTitles = []struct {
	sev   Severity
	title string
}{{SeverityError, "Errors"}, {SeverityBlocker, "Blockers"}, {SeverityWarning, "Warnings"}, {SeverityInfo, "Notes"}}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString("sailctl migrate report\n")
	r.writeInputs(&b)
	r.writeOutputs(&b)
	r.writeCarried(&b)
	for _, s := range severityTitles {
		r.writeFindings(&b, s.sev, s.title)
	}
	r.writeValidation(&b)
	fmt.Fprintf(&b, "\nResult: %s (exit code %d)\n", r.Summary(), r.ExitCode())
	_, err := io.WriteString(w, b.String())
	return err
}

// section writes a section title when the section has n > 0 entries, and tells whether it did.
func section(b *strings.Builder, title string, n int) bool {
	if n == 0 {
		return false
	}
	fmt.Fprintf(b, "\n%s (%d)\n", title, n)
	return true
}

func (r *Report) writeInputs(b *strings.Builder) {
	if section(b, "Inputs", len(r.Inputs)) {
		for _, in := range r.Inputs {
			fmt.Fprintf(b, "  %s\n", in)
		}
	}
}

func (r *Report) writeOutputs(b *strings.Builder) {
	if section(b, "Generated", len(r.Outputs)) {
		for _, o := range r.Outputs {
			fmt.Fprintf(b, "  %s (%s)\n", o, o.APIVersion)
		}
	}
}

// writeCarried lists the carried-over fields grouped by input object, in order of first appearance.
func (r *Report) writeCarried(b *strings.Builder) {
	if !section(b, "Carried over (input -> output)", len(r.Carried)) {
		return
	}
	var order []string
	groups := map[string][]Carried{}
	for _, c := range r.Carried {
		from := c.From.Object()
		if _, ok := groups[from]; !ok {
			order = append(order, from)
		}
		groups[from] = append(groups[from], c)
	}
	for _, from := range order {
		fmt.Fprintf(b, "  %s:\n", from)
		for _, c := range groups[from] {
			writeCarriedLine(b, c)
		}
	}
}

func writeCarriedLine(b *strings.Builder, c Carried) {
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

func (r *Report) writeFindings(b *strings.Builder, sev Severity, title string) {
	if !section(b, title, r.Count(sev)) {
		return
	}
	for _, f := range r.Findings {
		if f.Severity == sev {
			at := f.At.String()
			if at == "" {
				at = "input"
			}
			fmt.Fprintf(b, "  - %s:\n      %s\n", at, f.Message)
		}
	}
}

func (r *Report) writeValidation(b *strings.Builder) {
	v := r.Validation
	if v == nil {
		return
	}
	fmt.Fprintf(b, "\nValidation (%s, against %s)\n", v.Mode, v.Against)
	for _, res := range v.Results {
		fmt.Fprintf(b, "  %-8s  %s\n", res.Status, res.Object)
		for _, m := range res.Messages {
			fmt.Fprintf(b, "            %s\n", m)
		}
	}
}
