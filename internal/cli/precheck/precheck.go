// Package precheck holds the checks of `sailctl precheck`: what an install or upgrade of Istio through Sail would
// run into on a cluster, found before the change is made. Each check reads the cluster through a client and
// returns findings with a severity and a message that says what to do; the version rules are those the operator
// enforces (internal/mesh/skew, the Istio controller's in-place guard), not a copy of them.
package precheck

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Severity ranks a finding.
type Severity int

// Severities, from the least to the most serious.
const (
	Info Severity = iota
	Warning
	Error
)

// String returns the severity's name as printed.
func (s Severity) String() string {
	return [...]string{"info", "warning", "error"}[s]
}

// Finding is one result of a check.
type Finding struct {
	Severity Severity
	// Check names the check, e.g. "kubernetes-version".
	Check string
	// Message says what was found and what to do.
	Message string
}

// Input is what the checks look at: the cluster, and the resources to install or change.
type Input struct {
	// Client reads Sail's and Kubernetes' objects; Kube serves discovery and access reviews.
	Client client.Client
	Kube   kubernetes.Interface
	// Versions are the versions this build of Sail supports.
	Versions *versions.List
	// Istios, CNI and ZTunnel are the resources after the change (from files, or the cluster's with the target
	// version applied); CNI and ZTunnel are nil when there are none.
	Istios  []sailv1.Istio
	CNI     *sailv1.IstioCNI
	ZTunnel *sailv1.ZTunnel
	// Target is the version the install or upgrade goes to (resolved), used where a resource names none.
	Target versions.Version
}

// Run runs every check and returns the findings, the most serious first.
func Run(ctx context.Context, in Input) []Finding {
	var out []Finding
	for _, check := range []func(context.Context, Input) []Finding{
		checkKubernetes, checkPermissions, checkGatewayAPI, checkRevisions, checkSkew,
	} {
		out = append(out, check(ctx, in)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity > out[j].Severity })
	return out
}

// Worst returns the most serious severity of the findings (Info for none).
func Worst(findings []Finding) Severity {
	worst := Info
	for _, f := range findings {
		worst = max(worst, f.Severity)
	}
	return worst
}

func finding(sev Severity, check, format string, args ...any) Finding {
	return Finding{Severity: sev, Check: check, Message: fmt.Sprintf(format, args...)}
}
