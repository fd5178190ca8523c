package operator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	istioctrl "github.com/sail-mesh/sail/internal/controller/istio"
	"github.com/sail-mesh/sail/internal/controller/istiocni"
	"github.com/sail-mesh/sail/internal/controller/istiorevision"
	"github.com/sail-mesh/sail/internal/controller/lifecycle"
	"github.com/sail-mesh/sail/internal/controller/revisiontag"
	"github.com/sail-mesh/sail/internal/controller/ztunnel"
	"github.com/sail-mesh/sail/internal/mesh/istiocrds"
	"github.com/sail-mesh/sail/internal/mesh/remoteusage"
	"github.com/sail-mesh/sail/internal/mesh/revision"
	"github.com/sail-mesh/sail/internal/mesh/workloads"
	"github.com/sail-mesh/sail/internal/metrics"
	"github.com/sail-mesh/sail/internal/metricsauth"
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
			// Every namespace and every pod that has not completed, as metadata trimmed to what revision usage
			// and workload migration read (internal/mesh/revision: a few labels, annotations, the owner).
			nsMeta: {Label: labels.Everything(), Transform: revision.TrimNamespace},
			revision.PodMetadata(): {Label: labels.Everything(), Field: fields.ParseSelectorOrDie(revision.RunningPods),
				Transform: revision.TrimPod},
		},
	}
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
	mgr, err := newManager(cfg, o)
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	w := newWiring(mgr, o, platform)
	for _, step := range w.steps() {
		if err := step.run(); err != nil {
			return nil, fmt.Errorf("%s: %w", step.what, err)
		}
	}
	return &Operator{Manager: mgr, Renderer: w.renderer, Applier: w.applier, Istio: w.istio, Revision: w.revision}, nil
}

// newManager makes the controller manager: the API client limits, scheme, cache, metrics, probes and leader
// election of the options.
func newManager(cfg *rest.Config, o *Options) (ctrl.Manager, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = float32(o.KubeAPIQPS), o.KubeAPIBurst
	// Uncompressed responses: the API server gzips every watch stream otherwise, and inflating each pod event
	// (and holding a decompressor per stream) costs the operator more CPU and memory than the in-cluster bytes
	// saved are worth.
	cfg.DisableCompression = true
	return ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        NewScheme(),
		Cache:                         CacheOptions(),
		Metrics:                       metricsOptions(o),
		HealthProbeBindAddress:        o.ProbeAddr,
		PprofBindAddress:              o.PprofAddr,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &o.LeaseDuration,
		RenewDeadline:                 &o.RenewDeadline,
		RetryPeriod:                   &o.RetryPeriod,
		Controller:                    ctrlconfig.Controller{SkipNameValidation: &o.SkipControllerNameValidation},
	})
}

// metricsOptions serves metrics on the options' address; served securely, it asks the API server who may read them.
func metricsOptions(o *Options) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: o.MetricsAddr, SecureServing: o.MetricsSecure}
	if o.MetricsSecure {
		opts.FilterProvider = metricsauth.FilterProvider
	}
	return opts
}

// wiring holds what the setup steps share: the manager, the options, and the parts the controllers are built from.
type wiring struct {
	mgr      ctrl.Manager
	opts     *Options
	platform values.Platform
	renderer *render.Renderer
	applier  *apply.Applier
	recorder events.EventRecorder
	migrator *workloads.Migrator
	crds     *istiocrds.Installer // nil unless the operator manages Istio's CRDs
	istio    *istioctrl.Reconciler
	revision *istiorevision.Reconciler
}

// newWiring makes the parts the controllers share: one renderer (its cache and counters are the operator's),
// one applier, one event recorder and one workload migrator.
func newWiring(mgr ctrl.Manager, o *Options, platform values.Platform) *wiring {
	w := &wiring{mgr: mgr, opts: o, platform: platform, renderer: render.New(nil)}
	w.applier = apply.NewApplier(mgr.GetClient(), mgr.GetClient(), mgr.GetScheme(), FieldManager)
	w.applier.UseAPIReader(mgr.GetAPIReader())
	w.recorder = mgr.GetEventRecorder("sail-operator")
	w.migrator = &workloads.Migrator{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: w.recorder}
	if o.ManageIstioCRDs {
		w.crds = istiocrds.NewInstaller(w.applier, mgr.GetClient(), mgr.GetAPIReader())
	}
	return w
}

// setupStep is one thing New adds to the manager; what names it in errors.
type setupStep struct {
	what string
	run  func() error
}

// steps are New's setup steps, in order.
func (w *wiring) steps() []setupStep {
	return []setupStep{
		{"adding the health probes", w.addProbes},
		{"indexing revision usage", w.indexUsage},
		{"adding the chart preloader", w.addPreload},
		{"watching Istio's CRDs", w.watchCRDs},
		{"registering metrics", w.registerMetrics},
		{"setting up the Istio controller", w.setupIstio},
		{"setting up the IstioRevision controller", w.setupRevision},
		{"setting up the IstioRevisionTag controller", w.setupRevisionTag},
		{"setting up the IstioCNI controller", w.setupIstioCNI},
		{"setting up the ZTunnel controller", w.setupZTunnel},
	}
}

// addProbes answers the liveness and readiness probes as long as the manager runs.
func (w *wiring) addProbes() error {
	if err := w.mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	return w.mgr.AddReadyzCheck("ping", healthz.Ping)
}

// indexUsage registers the cache indexes that tell which namespaces and pods use a revision.
func (w *wiring) indexUsage() error {
	nsMeta := &metav1.PartialObjectMetadata{}
	nsMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	indexer := w.mgr.GetFieldIndexer()
	err := indexer.IndexField(context.Background(), nsMeta, revision.IndexNamespaceRevision, revision.IndexNamespace)
	if err != nil {
		return err
	}
	return indexer.IndexField(context.Background(), revision.PodMetadata(), revision.IndexPodRevision, revision.IndexPod)
}

// addPreload loads the newest version's charts in the background, so the first install does not wait for it.
func (w *wiring) addPreload() error {
	return w.mgr.Add(manager.RunnableFunc(func(context.Context) error {
		if err := w.renderer.Preload(versions.Default().Newest().Name, versions.ChartIstiod, versions.ChartBase); err != nil {
			ctrl.Log.WithName("setup").Error(err, "preloading charts failed; they load on first use")
		}
		return nil
	}))
}

// watchCRDs registers the cache's informer of CRD metadata before the manager starts, so it is synced with the
// others: otherwise the CRD installer's first read would start it and wait for its list, which delays the first
// revision's status.
func (w *wiring) watchCRDs() error {
	if w.crds == nil {
		return nil
	}
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	_, err := w.mgr.GetCache().GetInformer(context.Background(), crd)
	return err
}

func (w *wiring) registerMetrics() error {
	return metrics.Register(w.renderer, w.applier, w.mgr.GetClient(), w.migrator)
}

func (w *wiring) setupIstio() error {
	w.istio = &istioctrl.Reconciler{Client: w.mgr.GetClient(), Versions: w.opts.versionList(), Platform: w.platform,
		Recorder: w.recorder, Migrator: w.migrator, RemoteUsage: &remoteusage.Checker{Secrets: w.mgr.GetAPIReader()},
		RemoteRecheck: w.opts.RemoteUsageRecheck}
	return w.istio.SetupWithManager(w.mgr, w.opts.MaxConcurrentReconciles)
}

// deps are what the chart controllers share.
func (w *wiring) deps() lifecycle.Deps {
	return lifecycle.Deps{Client: w.mgr.GetClient(), Scheme: w.mgr.GetScheme(), Renderer: w.renderer,
		Applier: w.applier, Recorder: w.recorder, Versions: w.opts.versionList(), Platform: w.platform}
}

func (w *wiring) setupRevision() error {
	w.revision = &istiorevision.Reconciler{Deps: w.deps(), CRDs: w.crds}
	return w.revision.SetupWithManager(w.mgr, w.opts.MaxConcurrentReconciles)
}

func (w *wiring) setupRevisionTag() error {
	r := &revisiontag.Reconciler{Deps: w.deps()}
	return r.SetupWithManager(w.mgr)
}

func (w *wiring) setupIstioCNI() error {
	r := &istiocni.Reconciler{Deps: w.deps()}
	return r.SetupWithManager(w.mgr)
}

func (w *wiring) setupZTunnel() error {
	r := &ztunnel.Reconciler{Deps: w.deps()}
	return r.SetupWithManager(w.mgr)
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
