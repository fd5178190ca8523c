package convert

import (
	"time"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/input"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
)

// source locates the fields of a ServiceMeshControlPlane's effective spec and reports findings about them.
type source struct {
	smcp *input.SMCP
	rep  *report.Report
}

// at locates a field of the effective spec: under spec when it is set there, else under status.appliedSpec
// (where OpenShift Service Mesh 2 put the settings of the profiles).
func (s *source) at(p fieldpath.Path) report.Location {
	l := s.smcp.Doc.Loc
	prefix := fieldpath.Path{"spec"}
	if s.smcp.UsesApplied() {
		if _, ok := fieldpath.Lookup(s.smcp.RawSpec, p); !ok {
			prefix = fieldpath.Path{"status", "appliedSpec"}
		}
	}
	l.Path = prefix.Join(p).String()
	return l
}

// unset locates a field that is not set, for findings about OpenShift Service Mesh 2 defaults.
func (s *source) unset(p fieldpath.Path) report.Location {
	l := s.smcp.Doc.Loc
	l.Path = fieldpath.Path{"spec"}.Join(p).String()
	return l
}

// atOrUnset locates the field p with at when it is set, else with unset.
func (s *source) atOrUnset(p fieldpath.Path, set bool) report.Location {
	if set {
		return s.at(p)
	}
	return s.unset(p)
}

func (s *source) warn(p fieldpath.Path, format string, args ...any) {
	s.rep.Add(report.SeverityWarning, s.at(p), format, args...)
}

func (s *source) note(p fieldpath.Path, format string, args ...any) {
	s.rep.Add(report.SeverityInfo, s.at(p), format, args...)
}

func (s *source) block(p fieldpath.Path, format string, args ...any) {
	s.rep.Add(report.SeverityBlocker, s.at(p), format, args...)
}

func (s *source) fail(p fieldpath.Path, format string, args ...any) {
	s.rep.Add(report.SeverityError, s.at(p), format, args...)
}

// duration checks a duration input and returns it as written (Istio reads "300s" but not every form Go prints);
// a bad one is an error naming the input path.
func (s *source) duration(p fieldpath.Path, v string) (string, bool) {
	if _, err := time.ParseDuration(v); err != nil {
		s.fail(p, "%q is not a duration (e.g. 10s, 5m, 1h30m): fix the value", v)
		return "", false
	}
	return v, true
}
