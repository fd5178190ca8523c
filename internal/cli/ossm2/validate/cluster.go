package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
	"github.com/sail-mesh/sail/internal/cli/ossm2/resource"
)

// FieldManager is the field manager of sailctl's server-side dry-runs.
const FieldManager = "sailctl-migrate"

// dryRunner validates objects with server-side apply dry-runs.
type dryRunner struct {
	mapper meta.RESTMapper
	dyn    dynamic.Interface
	// created are the namespaces the objects being validated create.
	created map[string]bool
}

// Cluster validates each object with a server-side apply dry-run against the cluster, with strict field
// validation (unknown and duplicate fields are rejected) and the API server's own checks (schemas, CEL rules,
// admission). Objects whose kind the cluster does not serve are skipped. It fails only when the cluster cannot be
// reached.
func Cluster(ctx context.Context, cfg *rest.Config, objects []resource.Object) (*report.ValidationReport, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	if _, err := dc.ServerVersion(); err != nil {
		return nil, fmt.Errorf("cannot reach the cluster at %s: %w; check the kubeconfig, or use "+
			"--validate=offline", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	r := &dryRunner{mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), dyn: dyn,
		created: createdNamespaces(objects)}
	rep := &report.ValidationReport{Mode: "cluster", Against: "a server-side dry-run on " + cfg.Host}
	for _, o := range objects {
		rep.Results = append(rep.Results, r.validate(ctx, o))
	}
	return rep, nil
}

// createdNamespaces returns the names of the Namespace objects among objects.
func createdNamespaces(objects []resource.Object) map[string]bool {
	created := map[string]bool{}
	for _, o := range objects {
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
			created[o.GetName()] = true
		}
	}
	return created
}

// validate dry-runs one object.
func (r *dryRunner) validate(ctx context.Context, o resource.Object) report.ValidationResult {
	res := report.ValidationResult{Object: o.Ref()}
	gvk := o.GroupVersionKind()
	mapping, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		res.Status = report.ValidationSkipped
		if meta.IsNoMatchError(err) {
			res.Messages = []string{notServed(o)}
		} else {
			res.Messages = []string{err.Error()}
		}
		return res
	}
	var ri dynamic.ResourceInterface = r.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = r.dyn.Resource(mapping.Resource).Namespace(o.GetNamespace())
	}
	data, err := json.Marshal(o.Object)
	if err == nil {
		force := true
		_, err = ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
			DryRun: []string{metav1.DryRunAll}, FieldManager: FieldManager, Force: &force,
			FieldValidation: metav1.FieldValidationStrict,
		})
	}
	switch {
	case err == nil:
		res.Status = report.ValidationValid
	case apierrors.IsNotFound(err) && r.created[o.GetNamespace()]:
		res.Status = report.ValidationSkipped
		res.Messages = []string{fmt.Sprintf("namespace %s does not exist yet; it is created by this migration",
			o.GetNamespace())}
	default:
		res.Status = report.ValidationRejected
		res.Messages = rejection(err)
	}
	return res
}

func notServed(o resource.Object) string {
	gvk := o.GroupVersionKind()
	switch {
	case gvk.Group == "sailoperator.io":
		return fmt.Sprintf("the cluster does not serve %s %s: install the Sail CRDs (the %s CRD is missing)",
			gvk.GroupVersion(), gvk.Kind, strings.ToLower(gvk.Kind))
	case strings.HasSuffix(gvk.Group, ".istio.io"):
		return fmt.Sprintf("the cluster does not serve %s %s (yet): Sail installs Istio's CRDs with the first "+
			"Istio; apply this object after the Istio is ready", gvk.GroupVersion(), gvk.Kind)
	default:
		return fmt.Sprintf("the cluster does not serve %s %s: not validated", gvk.GroupVersion(), gvk.Kind)
	}
}

// rejection lists the causes of an API error, one per line.
func rejection(err error) []string {
	var status apierrors.APIStatus
	if s, ok := err.(apierrors.APIStatus); ok {
		status = s
	}
	if status == nil || status.Status().Details == nil || len(status.Status().Details.Causes) == 0 {
		return []string{err.Error()}
	}
	var out []string
	for _, c := range status.Status().Details.Causes {
		msg := c.Message
		if c.Field != "" && !strings.Contains(msg, c.Field) {
			msg = c.Field + ": " + msg
		}
		out = append(out, msg)
	}
	return out
}
