package report

import "github.com/sail-mesh/sail/internal/cli/ossm2/resource"

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
	Object   resource.Ref     `json:"object"`
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
