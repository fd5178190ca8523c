package lifecycle

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// Deps are what the chart controllers are built with; each embeds them, so the operator wires them once.
type Deps struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// Scheme knows Sail's and Kubernetes' kinds.
	Scheme *runtime.Scheme
	// Renderer renders Istio's charts.
	Renderer *render.Renderer
	// Applier applies what was rendered.
	Applier *apply.Applier
	// Recorder records events on the reconciled resources.
	Recorder events.EventRecorder
	// Versions are the supported Istio versions.
	Versions *versions.List
	// Platform is the cluster's platform (Kubernetes or OpenShift).
	Platform values.Platform
}
