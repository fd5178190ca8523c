package ossm2

import (
	"runtime/debug"

	"github.com/sail-mesh/sail/internal/cli/ossm2/convert"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Options tune a conversion.
type Options struct {
	// Version is the Istio version (or alias) of the generated Istio and IstioCNI; empty means the newest
	// supported version. Setting it also acknowledges the version jump (reported as a note, not a warning).
	Version string
	// Platform is PlatformOpenShift (the default) or PlatformKubernetes.
	Platform string
	// DefaultNamespace is given to input objects that have no metadata.namespace.
	DefaultNamespace string
	// OperatorNamespace is the namespace of the OpenShift Service Mesh 2 operator, never a mesh member.
	// Default: openshift-operators.
	OperatorNamespace string
	// AllowUnknownFields turns unknown input fields from errors into warnings.
	AllowUnknownFields bool
	// Versions is the list of supported versions; nil means the list embedded in Sail.
	Versions *versions.List
}

func (o Options) withDefaults() Options {
	if o.Platform == "" {
		o.Platform = PlatformOpenShift
	}
	if o.OperatorNamespace == "" {
		o.OperatorNamespace = "openshift-operators"
	}
	if o.Versions == nil {
		o.Versions = versions.Default()
	}
	return o
}

// Result is the outcome of a conversion.
type Result struct {
	// Objects are the generated objects, in the order to apply them.
	Objects []Object
	// Report says what was carried over, and what was not.
	Report *Report
}

// Convert converts the documents read from the input. It never panics: an unexpected failure is reported as an
// error finding.
func Convert(docs []Document, opts Options) (res *Result) {
	rep := &report.Report{}
	res = &Result{Report: rep}
	defer func() {
		if r := recover(); r != nil {
			res.Objects = nil
			rep.Add(report.SeverityError, report.Location{}, "internal error: %v; please report it with the input "+
				"that caused it\n%s", r, debug.Stack())
		}
	}()
	opts = opts.withDefaults()
	if opts.Platform != PlatformOpenShift && opts.Platform != PlatformKubernetes {
		rep.Add(report.SeverityError, report.Location{}, "unknown platform %q: use %s or %s", opts.Platform,
			PlatformOpenShift, PlatformKubernetes)
		return res
	}
	version := opts.Versions.Newest().Name
	if opts.Version != "" {
		version = opts.Version
	}
	target, err := opts.Versions.Resolve(version)
	if err != nil {
		rep.Add(report.SeverityError, report.Location{}, "%v", err)
		return res
	}
	in := input.Decode(docs, input.DecodeOptions{DefaultNamespace: opts.DefaultNamespace,
		AllowUnknownFields: opts.AllowUnknownFields}, rep)
	if !input.HasKind(docs, input.KindSMCP) && rep.Count(report.SeverityError) == 0 &&
		rep.Count(report.SeverityBlocker) == 0 {
		rep.Add(report.SeverityError, report.Location{}, "the input has no ServiceMeshControlPlane: nothing to "+
			"convert; add the control plane (oc get smcp -n <namespace> -o yaml), or use --from-cluster")
	}
	res.Objects = convert.Run(in, convert.Options{Target: target, VersionChosen: opts.Version != "",
		Platform: opts.Platform, OperatorNamespace: opts.OperatorNamespace}, rep)
	for i := range res.Objects {
		res.Objects[i].Object = resource.Normalize(res.Objects[i].Object).(map[string]any)
		rep.Outputs = append(rep.Outputs, res.Objects[i].Ref())
	}
	return res
}

// YAML renders the objects as one multi-document YAML stream, each preceded by its comment.
func (r *Result) YAML() ([]byte, error) { return resource.YAML(r.Objects) }

// WriteDir writes each object to its own file in dir (created if missing), named so that the files sort in the
// order to apply them, and returns the file paths.
func (r *Result) WriteDir(dir string) ([]string, error) { return resource.WriteDir(dir, r.Objects) }

// Resources returns the objects as plain maps, for JSON output.
func (r *Result) Resources() []map[string]any { return resource.Maps(r.Objects) }
