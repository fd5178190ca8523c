package main

import (
	"go/ast"
	"regexp"
	"strings"
)

var (
	// protoc-gen-go appends this line to the comment of every deprecated field or message.
	deprecatedNoise = regexp.MustCompile(`^Deprecated: (Marked as deprecated in|Do not use)\b.*$`)
	// Lines that controller-gen (or any other Kubernetes generator) would read as a marker.
	// Istio's comments carry markers for its own CRD generators (+cue-gen, +protoc-gen-crd,
	// +kubebuilder:validation for its own CRDs, +k8s, +protobuf); none of them applies here.
	markerLine = regexp.MustCompile(`^\s*\+[A-Za-z]`)
	// HTML comments hide generator directives in Istio's protos.
	htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)
)

// cleanDoc turns a protoc-gen-go comment into doc comment lines (without the
// "//" prefix). deprecated is set when protoc-gen-go flagged the element as
// deprecated; hasDeprecatedParagraph when the text already has a paragraph
// starting with "Deprecated:".
func cleanDoc(cg *ast.CommentGroup) (lines []string, deprecated, hasDeprecatedParagraph bool) {
	if cg == nil {
		return nil, false, false
	}
	text := htmlComment.ReplaceAllString(cg.Text(), "")
	prevBlank := true
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, " \t\r")
		trimmed := strings.TrimSpace(line)
		if deprecatedNoise.MatchString(trimmed) {
			deprecated = true
			continue
		}
		if markerLine.MatchString(line) || strings.HasPrefix(trimmed, "TODO") {
			continue
		}
		if strings.Contains(line, "$hide_from_docs") {
			line = strings.TrimRight(strings.ReplaceAll(line, "$hide_from_docs", ""), " \t")
			if strings.TrimSpace(line) == "" {
				continue
			}
		}
		if line == "" {
			if prevBlank {
				continue
			}
			prevBlank = true
		} else {
			if prevBlank && strings.HasPrefix(trimmed, "Deprecated:") {
				hasDeprecatedParagraph = true
			}
			prevBlank = false
		}
		lines = append(lines, line)
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines, deprecated, hasDeprecatedParagraph
}

// commentBlock renders doc lines as a Go comment block indented by indent.
func commentBlock(b *strings.Builder, indent string, lines []string) {
	for _, l := range lines {
		switch {
		case l == "":
			b.WriteString(indent + "//\n")
		case strings.HasPrefix(l, "\t"):
			b.WriteString(indent + "//" + l + "\n")
		default:
			b.WriteString(indent + "// " + l + "\n")
		}
	}
}
