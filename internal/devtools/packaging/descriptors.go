package packaging

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"unicode"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// The x-descriptors OLM consoles know.
const (
	xdText      = "urn:alm:descriptor:com.tectonic.ui:text"
	xdNumber    = "urn:alm:descriptor:com.tectonic.ui:number"
	xdBoolean   = "urn:alm:descriptor:com.tectonic.ui:booleanSwitch"
	xdSelect    = "urn:alm:descriptor:com.tectonic.ui:select:"
	xdNamespace = "urn:alm:descriptor:io.kubernetes:Namespace"
	xdAdvanced  = "urn:alm:descriptor:com.tectonic.ui:advanced"
	xdFieldGrp  = "urn:alm:descriptor:com.tectonic.ui:fieldGroup:"
	xdConds     = "urn:alm:descriptor:io.kubernetes.conditions"
)

// specDescriptors describes the fields of a spec for OLM consoles: enums become selects, namespaces namespace
// pickers; Istio's Helm values (a large free-form tree) are "advanced"; nested objects become field groups.
func specDescriptors(s apiextensionsv1.JSONSchemaProps, prefix string) []operatorsv1alpha1.SpecDescriptor {
	var out []operatorsv1alpha1.SpecDescriptor
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		path := join(prefix, name)
		if name != "values" && p.Type == "object" && len(p.Properties) > 0 && prefix == "" {
			for _, child := range specDescriptors(p, path) {
				child.XDescriptors = append(child.XDescriptors, xdFieldGrp+name)
				out = append(out, child)
			}
			continue
		}
		out = append(out, operatorsv1alpha1.SpecDescriptor{Path: path, DisplayName: humanize(name),
			Description: firstSentence(p.Description), XDescriptors: specXDescriptors(name, p)})
	}
	return out
}

// specXDescriptors picks the console widget of a spec field that is not a field group.
func specXDescriptors(name string, p apiextensionsv1.JSONSchemaProps) []string {
	switch {
	case name == "values", p.Type == "object" || p.Type == "array":
		return []string{xdAdvanced}
	case len(p.Enum) > 0:
		var xds []string
		for _, e := range p.Enum {
			var v string
			if json.Unmarshal(e.Raw, &v) == nil {
				xds = append(xds, xdSelect+v)
			}
		}
		return xds
	case name == "namespace" && p.Type == "string":
		return []string{xdNamespace}
	case p.Type == "boolean":
		return []string{xdBoolean}
	case p.Type == "integer" || p.Type == "number":
		return []string{xdNumber}
	default:
		return []string{xdText}
	}
}

// statusDescriptors describes the status: conditions, and the scalar fields as text (bookkeeping such as the
// inventory and observedGeneration is left out).
func statusDescriptors(s apiextensionsv1.JSONSchemaProps, prefix string) []operatorsv1alpha1.StatusDescriptor {
	var out []operatorsv1alpha1.StatusDescriptor
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		path := join(prefix, name)
		d := operatorsv1alpha1.StatusDescriptor{Path: path, DisplayName: humanize(name), Description: firstSentence(p.Description)}
		switch {
		case name == "conditions":
			d.XDescriptors = []string{xdConds}
		case name == "observedGeneration" || name == "inventory":
			continue
		case p.Type == "object":
			out = append(out, statusDescriptors(p, path)...)
			continue
		case p.Type == "array":
			continue
		default:
			d.XDescriptors = []string{xdText}
		}
		out = append(out, d)
	}
	return out
}

// fieldOrder puts the fields users set first in consoles; others follow alphabetically, Helm values last.
var fieldOrder = []string{"version", "namespace", "profile", "updateStrategy", "type", "targetRef", "state",
	"conditions", "activeRevisionName"}

func sortedKeys(m map[string]apiextensionsv1.JSONSchemaProps) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if k == "values" {
			return len(fieldOrder) + 1
		}
		if i := slices.Index(fieldOrder, k); i >= 0 {
			return i
		}
		return len(fieldOrder)
	}
	sort.Slice(keys, func(i, j int) bool {
		if ri, rj := rank(keys[i]), rank(keys[j]); ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// displayNames overrides the display name derived from a kind.
var displayNames = map[string]string{"IstioCNI": "Istio CNI", "ZTunnel": "ZTunnel"}

// humanize turns a field or kind name into words: "updateStrategy" -> "Update Strategy", "IstioCNI" -> "Istio CNI".
func humanize(name string) string {
	if d, ok := displayNames[name]; ok {
		return d
	}
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1]))) {
			b.WriteByte(' ')
		}
		if i == 0 {
			c = unicode.ToUpper(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}

func displayName(kind string) string { return humanize(kind) }

// firstParagraph joins the lines of the first paragraph of a schema description.
func firstParagraph(s string) string {
	p, _, _ := strings.Cut(strings.TrimSpace(s), "\n\n")
	return oneLine(p)
}

// firstSentence is the first sentence of a description (or its first paragraph when it has no full stop).
func firstSentence(s string) string {
	p := firstParagraph(s)
	if i := strings.Index(p, ". "); i >= 0 {
		return p[:i+1]
	}
	return p
}
