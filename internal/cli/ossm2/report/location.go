package report

import (
	"fmt"
	"strings"

	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
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
	if obj := l.Object(); obj != "" {
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

// Object renders the input object as "Kind namespace/name"; empty when the kind is not known.
func (l Location) Object() string {
	return resource.Ref{Kind: l.Kind, Namespace: l.Namespace, Name: l.Name}.String()
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

// Target is a field of a generated object.
type Target struct {
	resource.Ref
	// Path is the field, e.g. spec.values.pilot.replicaCount; empty for the whole object.
	Path string `json:"path,omitempty"`
}

// String renders the target as "Kind namespace/name path".
func (t Target) String() string {
	if t.Path == "" {
		return t.Ref.String()
	}
	return t.Ref.String() + " " + t.Path
}
