package input

import (
	"encoding/json"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/strict"
)

// smcp decodes a ServiceMeshControlPlane: its spec and, when present, status.appliedSpec (the spec with the
// profiles applied), which the conversion then reads instead.
func (d *decoder) smcp(doc Document) *SMCP {
	s := &SMCP{Doc: doc}
	ok := d.header(doc, KindSMCP, &s.Meta)
	if spec, isMap := doc.Object["spec"].(map[string]any); isMap {
		s.RawSpec = spec
	} else if doc.Object["spec"] != nil {
		d.rep.Add(report.SeverityError, doc.At(fieldpath.Path{"spec"}), "expected an object, got %s",
			strict.Describe(doc.Object["spec"]))
		return nil
	}
	var fromSpec SMCPSpec
	ok = d.decodePart(doc, KindSMCP, fieldpath.Path{"spec"}, &fromSpec) && ok
	ok = d.applied(doc, s) && ok
	if s.RawApplied == nil {
		s.Spec = fromSpec
	}
	if !ok {
		return nil
	}
	if s.RawSpec == nil {
		s.RawSpec = map[string]any{}
	}
	d.rep.Inputs[len(d.rep.Inputs)-1].Namespace = s.Meta.Namespace
	return s
}

// applied decodes status.appliedSpec into s.Spec when the status has one, and warns when it is out of date.
func (d *decoder) applied(doc Document, s *SMCP) bool {
	status, isMap := doc.Object["status"].(map[string]any)
	if !isMap {
		return true
	}
	applied, isMap := status["appliedSpec"].(map[string]any)
	if !isMap || len(applied) == 0 {
		return true
	}
	s.RawApplied = applied
	at := fieldpath.Path{"status", "appliedSpec"}
	ok := d.decodePart(doc, KindSMCP, at, &s.Spec)
	var observed int64
	if n, isNum := status["observedGeneration"].(json.Number); isNum {
		observed, _ = n.Int64()
	}
	if s.Meta.Generation > 0 && observed > 0 && observed != s.Meta.Generation {
		d.rep.Add(report.SeverityWarning, doc.At(at), "status.appliedSpec is from generation %d but the spec is "+
			"at generation %d: the spec changed since OpenShift Service Mesh 2 last reconciled it; wait for the "+
			"control plane to be reconciled and export it again", observed, s.Meta.Generation)
	}
	return ok
}
