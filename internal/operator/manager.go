package operator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	istioctrl "github.com/sail-mesh/sail/internal/controller/istio"
	"github.com/sail-mesh/sail/internal/controller/istiocni"
	"github.com/sail-mesh/sail/internal/controller/istiorevision"
	"github.com/sail-mesh/sail/internal/controller/revisiontag"
	"github.com/sail-mesh/sail/internal/controller/ztunnel"
	"github.com/sail-mesh/sail/internal/mesh/istiocrds"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/mesh/workloads"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/render"
	"github.com/sail-mesh/sail/internal/pipeline/values"
	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

// FieldManager is the server-side apply field manager of everything the operator writes.
const FieldManager = "sail-operator"

// NewScheme returns a scheme with the kinds the operator reads and writes.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(sailv1.AddToScheme(s))
	return s
}

// CacheOptions limits the cache to what the operator needs: its own resources, objects it applied (labelled),
// and namespaces as metadata only.
func CacheOptions() cache.Options {
	managed := labels.SelectorFromSet(labels.Set{apply.LabelManagedBy: apply.LabelManagedByValue})
	nsMeta := &metav1.PartialObjectMetadata{}
	nsMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return cache.Options{
		DefaultLabelSelector: managed,
		ByObject: map[client.Object]cache.ByObject{
			&sailv1.Istio{}:            {Label: labels.Everything()},
			&sailv1.IstioRevision{}:    {Label: labels.Everything()},
			&sailv1.IstioRevisionTag{}: {Label: labels.Everything()},
			&sailv1.IstioCNI{}:         {Label: labels.Everything()},
			&sailv1.ZTunnel{}:          {Label: labels.Everything()},
			nsMeta:                     {Label: labels.Everything(), Transform: stripManagedFields},
			// Every pod, trimmed to metadata and phase, for revision usage (internal/mesh/revision).
			&corev1.Pod{}: {Label: labels.Everything(), Transform: revision.TrimPod},
		},
	}
}

func stripManagedFields(obj any) (any, error) {
	if o, ok := obj.(metav1.Object); ok {
		o.SetManagedFields(nil)
	}
	return obj, nil
}

// Operator is a configured manager with Sail's controllers.
type Operator struct {
	// Manager runs the controllers.
	Manager ctrl.Manager
	// Renderer renders charts (shared by the controllers, so its cache and counters are the operator's).
	Renderer *render.Renderer
	// Applier applies and deletes objects.
	Applier *apply.Applier
	// Istio and Revision are the controllers, exposed for benchmarks that call Reconcile directly.
	Istio    *istioctrl.Reconciler
	Revision *istiorevision.Reconciler
}

// New builds the manager and registers the controllers; Start runs them.
func New(cfg *rest.Config, o *Options) (*Operator, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	platform, err := detectPlatform(cfg, o.Platform)
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = float32(o.KubeAPIQPS), o.KubeAPIBurst
	scheme := NewScheme()
	metricsOpts := metricsserver.Options{BindAddress: o.MetricsAddr, SecureServing: o.MetricsSecure}
	if o.MetricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         CacheOptions(),
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        o.ProbeAddr,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &o.LeaseDuration,
		RenewDeadline:                 &o.RenewDeadline,
		RetryPeriod:                   &o.RetryPeriod,
		Controller:                    ctrlconfig.Controller{SkipNameValidation: &o.SkipControllerNameValidation},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := indexUsage(mgr); err != nil {
		return nil, err
	}
	renderer := render.New(nil)
	// Load the newest version's charts in the background, so the first install does not wait for it.
	if err := mgr.Add(manager.RunnableFunc(func(context.Context) error {
		if err := renderer.Preload(versions.Default().Newest().Name, versions.ChartIstiod, versions.ChartBase); err != nil {
			ctrl.Log.WithName("setup").Error(err, "preloading charts failed; they load on first use")
		}
		return nil
	})); err != nil {
		return nil, err
	}
	applier := apply.NewApplier(mgr.GetClient(), mgr.GetClient(), scheme, FieldManager)
	recorder := mgr.GetEventRecorder("sail-operator")
	migrator := &workloads.Migrator{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder}
	if err := metrics.Register(renderer, applier, mgr.GetClient(), migrator); err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	var crds *istiocrds.Installer
	if o.ManageIstioCRDs {
		crds = istiocrds.NewInstaller(applier, mgr.GetClient())
	}
	istioRec := &istioctrl.Reconciler{Client: mgr.GetClient(), Versions: versions.Default(), Platform: platform,
		Recorder: recorder, Migrator: migrator}
	if err := istioRec.SetupWithManager(mgr, o.MaxConcurrentReconciles); err != nil {
		return nil, fmt.Errorf("setting up the Istio controller: %w", err)
	}
	revRec := &istiorevision.Reconciler{Client: mgr.GetClient(), Scheme: scheme, Renderer: renderer, Applier: applier,
		CRDs: crds, Recorder: recorder}
	if err := revRec.SetupWithManager(mgr, o.MaxConcurrentReconciles); err != nil {
		return nil, fmt.Errorf("setting up the IstioRevision controller: %w", err)
	}
	tagRec := &revisiontag.Reconciler{Client: mgr.GetClient(), Renderer: renderer, Applier: applier, Recorder: recorder}
	if err := tagRec.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the IstioRevisionTag controller: %w", err)
	}
	cniRec := &istiocni.Reconciler{Client: mgr.GetClient(), Scheme: scheme, Renderer: renderer, Applier: applier,
		Versions: versions.Default(), Platform: platform, Recorder: recorder}
	if err := cniRec.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the IstioCNI controller: %w", err)
	}
	ztunnelRec := &ztunnel.Reconciler{Client: mgr.GetClient(), Scheme: scheme, Renderer: renderer, Applier: applier,
		Versions: versions.Default(), Platform: platform, Recorder: recorder}
	if err := ztunnelRec.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the ZTunnel controller: %w", err)
	}
	return &Operator{Manager: mgr, Renderer: renderer, Applier: applier, Istio: istioRec, Revision: revRec}, nil
}

// Start runs the operator until ctx ends.
func (op *Operator) Start(ctx context.Context) error { return op.Manager.Start(ctx) }

// detectPlatform resolves "auto" by looking for OpenShift's security API group.
func detectPlatform(cfg *rest.Config, flagValue string) (values.Platform, error) {
	if flagValue != "auto" {
		return values.Platform(flagValue), nil
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", err
	}
	groups, err := dc.ServerGroups()
	if err != nil {
		return "", fmt.Errorf("detecting the platform (set --platform to skip): %w", err)
	}
	for _, g := range groups.Groups {
		if g.Name == "security.openshift.io" {
			return values.PlatformOpenShift, nil
		}
	}
	return values.PlatformKubernetes, nil
}

// indexUsage registers the cache indexes that tell which namespaces and pods use a revision.
func indexUsage(mgr ctrl.Manager) error {
	nsMeta := &metav1.PartialObjectMetadata{}
	nsMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), nsMeta, revision.IndexNamespaceRevision, revision.IndexNamespace); err != nil {
		return err
	}
	return mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Pod{}, revision.IndexPodRevision, revision.IndexPod)
}
