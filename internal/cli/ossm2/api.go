package ossm2

import (
	"context"
	"io"

	"k8s.io/client-go/rest"

	"github.com/sail-mesh/sail/internal/cli/ossm2/convert"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
	"github.com/sail-mesh/sail/internal/cli/ossm2/validate"
)

// The names below bring what sailctl migrate needs from the sub-packages into this one, so that it has a single
// entry point.

// Platforms the generated resources can target.
const (
	// PlatformOpenShift: the Istio and IstioCNI use the openshift profile (the default).
	PlatformOpenShift = convert.PlatformOpenShift
	// PlatformKubernetes: plain Kubernetes; no profile is set.
	PlatformKubernetes = convert.PlatformKubernetes
)

// StdinName is the file name that stands for standard input.
const StdinName = input.StdinName

// Document is one object read from the input.
type Document = input.Document

// ReadFiles reads the objects of every named input: a file, a folder or "-" for stdin (see input.ReadFiles).
func ReadFiles(names []string, stdin io.Reader) ([]Document, []Finding) {
	return input.ReadFiles(names, stdin)
}

// ParseYAML reads the objects of one file's content (see input.ParseYAML).
func ParseYAML(file string, data []byte) ([]Document, []Finding) { return input.ParseYAML(file, data) }

// ReadCluster reads the resources to convert from a cluster (see input.ReadCluster).
func ReadCluster(ctx context.Context, cfg *rest.Config, namespace string) ([]Document, error) {
	return input.ReadCluster(ctx, cfg, namespace)
}

// Object is a generated object and a comment saying where it comes from.
type Object = resource.Object

// Report is everything a migration has to say (see report.Report).
type Report = report.Report

// Finding is a warning, blocker, error or informational note about an input field.
type Finding = report.Finding

// ExitBlocked is the exit code of a migration that is blocked, has invalid input, or generated resources that
// failed validation.
const ExitBlocked = report.ExitBlocked

// ValidationReport holds the validation outcome of every generated object.
type ValidationReport = report.ValidationReport

// ValidationResult is the validation outcome of one generated object.
type ValidationResult = report.ValidationResult

// ValidationStatus is the outcome of validating one generated object.
type ValidationStatus = report.ValidationStatus

// Validation outcomes.
const (
	// ValidationValid: the object passed.
	ValidationValid = report.ValidationValid
	// ValidationRejected: the object failed; the messages say why.
	ValidationRejected = report.ValidationRejected
	// ValidationSkipped: the object could not be validated; the messages say why.
	ValidationSkipped = report.ValidationSkipped
)

// SchemaSet holds the schemas offline validation uses.
type SchemaSet = validate.SchemaSet

// OfflineOptions say where offline validation takes its schemas from.
type OfflineOptions = validate.OfflineOptions

// LoadSchemas loads the schemas of offline validation (see validate.LoadSchemas).
func LoadSchemas(opts OfflineOptions) (*SchemaSet, error) { return validate.LoadSchemas(opts) }

// ValidateOffline validates each object against its CRD schema or Go type (see validate.Offline).
func ValidateOffline(objects []Object, set *SchemaSet) *ValidationReport {
	return validate.Offline(objects, set)
}

// ValidateCluster validates each object with a server-side apply dry-run (see validate.Cluster).
func ValidateCluster(ctx context.Context, cfg *rest.Config, objects []Object) (*ValidationReport, error) {
	return validate.Cluster(ctx, cfg, objects)
}

// ValidateOfflineWhereSkipped validates offline the objects a cluster validation skipped, where a schema is
// available (see validate.OfflineWhereSkipped).
func ValidateOfflineWhereSkipped(rep *ValidationReport, objects []Object, set *SchemaSet) {
	validate.OfflineWhereSkipped(rep, objects, set)
}
