package input

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sail-mesh/sail/internal/cli/ossm2/strict"
)

// The types below are the schema of the ServiceMeshControlPlane v2 sections that the conversion does not carry
// over (add-ons, Mixer policy and telemetry, telemetry filters, mesh expansion, gateway SDS, pod affinity). The
// conversion reads these sections loosely as maps (strict.Opaque), but decoding checks them against these types,
// so that a misplaced or misspelt field is reported with its path there too. They follow the maistra.io/v2 API
// of OpenShift Service Mesh 2.0 to 2.6. Fields typed map[string]any are raw Helm values in that API.

// Opaque sections of the ServiceMeshControlPlane, checked against the schema types below.
type (
	// PrometheusAddon is spec.addons.prometheus.
	PrometheusAddon = strict.Opaque[PrometheusAddonSchema]
	// StackdriverAddon is spec.addons.stackdriver.
	StackdriverAddon = strict.Opaque[StackdriverAddonSchema]
	// JaegerAddon is spec.addons.jaeger.
	JaegerAddon = strict.Opaque[JaegerAddonSchema]
	// GrafanaAddon is spec.addons.grafana.
	GrafanaAddon = strict.Opaque[GrafanaAddonSchema]
	// KialiAddon is spec.addons.kiali.
	KialiAddon = strict.Opaque[KialiAddonSchema]
	// ThreeScaleAddon is spec.addons.3scale.
	ThreeScaleAddon = strict.Opaque[ThreeScaleSchema]
	// MixerPolicy is spec.policy.mixer.
	MixerPolicy = strict.Opaque[MixerPolicySchema]
	// RemotePolicy is spec.policy.remote.
	RemotePolicy = strict.Opaque[RemotePolicySchema]
	// MixerTelemetry is spec.telemetry.mixer.
	MixerTelemetry = strict.Opaque[MixerTelemetrySchema]
	// RemoteTelemetry is spec.telemetry.remote.
	RemoteTelemetry = strict.Opaque[RemoteTelemetrySchema]
	// IstiodTelemetry is spec.telemetry.istiod.
	IstiodTelemetry = strict.Opaque[IstiodTelemetrySchema]
	// MeshExpansion is spec.cluster.meshExpansion.
	MeshExpansion = strict.Opaque[MeshExpansionSchema]
	// KubernetesIdentity is spec.security.identity.kubernetes (it has no fields).
	KubernetesIdentity = strict.Opaque[struct{}]
	// GatewaySDS is the sds section of an ingress gateway.
	GatewaySDS = strict.Opaque[GatewaySDSSchema]
	// PodAffinity is the affinity of a component's pod.
	PodAffinity = strict.Opaque[AffinitySchema]
)

// ComponentServiceSchema is the Service of an add-on.
type ComponentServiceSchema struct {
	Metadata *MetadataConfig         `json:"metadata,omitempty"`
	NodePort *int32                  `json:"nodePort,omitempty"`
	Ingress  *ComponentIngressSchema `json:"ingress,omitempty"`
}

// ComponentIngressSchema is the OpenShift Route (ingress) of an add-on.
type ComponentIngressSchema struct {
	Enablement  `json:",inline"`
	Metadata    *MetadataConfig `json:"metadata,omitempty"`
	Hosts       []string        `json:"hosts,omitempty"`
	ContextPath string          `json:"contextPath,omitempty"`
	TLS         map[string]any  `json:"tls,omitempty"`
}

// PersistenceSchema is the storage of an add-on.
type PersistenceSchema struct {
	Enablement       `json:",inline"`
	StorageClassName string                            `json:"storageClassName,omitempty"`
	AccessMode       corev1.PersistentVolumeAccessMode `json:"accessMode,omitempty"`
	Capacity         *corev1.ResourceRequirements      `json:"capacity,omitempty"`
}

// PrometheusAddonSchema is spec.addons.prometheus.
type PrometheusAddonSchema struct {
	Enablement            `json:",inline"`
	MetricsExpiryDuration string  `json:"metricsExpiryDuration,omitempty"`
	Scrape                *bool   `json:"scrape,omitempty"`
	Address               *string `json:"address,omitempty"`
	Install               *struct {
		SelfManaged    bool                    `json:"selfManaged,omitempty"`
		Retention      string                  `json:"retention,omitempty"`
		ScrapeInterval string                  `json:"scrapeInterval,omitempty"`
		Service        *ComponentServiceSchema `json:"service,omitempty"`
		UseTLS         *bool                   `json:"useTLS,omitempty"`
	} `json:"install,omitempty"`
}

// GrafanaAddonSchema is spec.addons.grafana.
type GrafanaAddonSchema struct {
	Enablement `json:",inline"`
	Address    *string `json:"address,omitempty"`
	Install    *struct {
		SelfManaged bool `json:"selfManaged,omitempty"`
		Config      *struct {
			Env        map[string]string `json:"env,omitempty"`
			EnvSecrets map[string]string `json:"envSecrets,omitempty"`
		} `json:"config,omitempty"`
		Persistence *PersistenceSchema      `json:"persistence,omitempty"`
		Service     *ComponentServiceSchema `json:"service,omitempty"`
		Security    *struct {
			Enablement    `json:",inline"`
			SecretName    string `json:"secretName,omitempty"`
			UsernameKey   string `json:"usernameKey,omitempty"`
			PassphraseKey string `json:"passphraseKey,omitempty"`
		} `json:"security,omitempty"`
	} `json:"install,omitempty"`
}

// KialiAddonSchema is spec.addons.kiali.
type KialiAddonSchema struct {
	Enablement `json:",inline"`
	Name       string `json:"name,omitempty"`
	Install    *struct {
		Dashboard *struct {
			ViewOnly         *bool `json:"viewOnlyMode,omitempty"`
			EnableGrafana    *bool `json:"enableGrafana,omitempty"`
			EnablePrometheus *bool `json:"enablePrometheus,omitempty"`
			EnableTracing    *bool `json:"enableTracing,omitempty"`
		} `json:"dashboard,omitempty"`
		Service    *ComponentServiceSchema `json:"service,omitempty"`
		Deployment *struct {
			Resources    *corev1.ResourceRequirements `json:"resources,omitempty"`
			NodeSelector map[string]string            `json:"nodeSelector,omitempty"`
			Tolerations  []corev1.Toleration          `json:"tolerations,omitempty"`
			Affinity     *corev1.Affinity             `json:"affinity,omitempty"`
		} `json:"deployment,omitempty"`
	} `json:"install,omitempty"`
}

// JaegerAddonSchema is spec.addons.jaeger.
type JaegerAddonSchema struct {
	Name    string `json:"name,omitempty"`
	Install *struct {
		Storage *struct {
			Type   string `json:"type,omitempty"`
			Memory *struct {
				MaxTraces *int64 `json:"maxTraces,omitempty"`
			} `json:"memory,omitempty"`
			Elasticsearch *struct {
				NodeCount        *int32         `json:"nodeCount,omitempty"`
				Storage          map[string]any `json:"storage,omitempty"`
				RedundancyPolicy string         `json:"redundancyPolicy,omitempty"`
				IndexCleaner     map[string]any `json:"indexCleaner,omitempty"`
			} `json:"elasticsearch,omitempty"`
		} `json:"storage,omitempty"`
		Ingress *struct {
			Enablement `json:",inline"`
			Metadata   *MetadataConfig `json:"metadata,omitempty"`
		} `json:"ingress,omitempty"`
	} `json:"install,omitempty"`
}

// StackdriverAuthSchema are the credentials of Stackdriver.
type StackdriverAuthSchema struct {
	AppCredentials     *bool  `json:"appCredentials,omitempty"`
	APIKey             string `json:"apiKey,omitempty"`
	ServiceAccountPath string `json:"serviceAccountPath,omitempty"`
}

// StackdriverAddonSchema is spec.addons.stackdriver.
type StackdriverAddonSchema struct {
	Tracer *struct {
		Debug                    *bool  `json:"debug,omitempty"`
		MaxNumberOfAttributes    *int64 `json:"maxNumberOfAttributes,omitempty"`
		MaxNumberOfAnnotations   *int64 `json:"maxNumberOfAnnotations,omitempty"`
		MaxNumberOfMessageEvents *int64 `json:"maxNumberOfMessageEvents,omitempty"`
	} `json:"tracer,omitempty"`
	Telemetry *struct {
		Enablement         `json:",inline"`
		Auth               *StackdriverAuthSchema `json:"auth,omitempty"`
		EnableContextGraph *bool                  `json:"enableContextGraph,omitempty"`
		EnableLogging      *bool                  `json:"enableLogging,omitempty"`
		EnableMetrics      *bool                  `json:"enableMetrics,omitempty"`
		AccessLogging      *struct {
			Enablement        `json:",inline"`
			LogWindowDuration string `json:"logWindowDuration,omitempty"`
		} `json:"accessLogging,omitempty"`
		ConfigOverride map[string]any `json:"configOverride,omitempty"`
	} `json:"telemetry,omitempty"`
}

// ThreeScaleSchema is spec.addons.3scale (the Mixer adapter; its field names are snake case in the API).
type ThreeScaleSchema struct {
	Enablement `json:",inline"`
	ListenAddr *int32 `json:"listen_addr,omitempty"`
	LogGRPC    *bool  `json:"log_grpc,omitempty"`
	LogJSON    *bool  `json:"log_json,omitempty"`
	LogLevel   string `json:"log_level,omitempty"`
	Metrics    *struct {
		Port   *int32 `json:"port,omitempty"`
		Report *bool  `json:"report,omitempty"`
	} `json:"metrics,omitempty"`
	System *struct {
		CacheMaxSize         *int64 `json:"cache_max_size,omitempty"`
		CacheRefreshRetries  *int32 `json:"cache_refresh_retries,omitempty"`
		CacheRefreshInterval *int32 `json:"cache_refresh_interval,omitempty"`
		CacheTTL             *int32 `json:"cache_ttl,omitempty"`
	} `json:"system,omitempty"`
	Client *struct {
		AllowInsecureConnections *bool  `json:"allow_insecure_connections,omitempty"`
		Timeout                  *int32 `json:"timeout,omitempty"`
	} `json:"client,omitempty"`
	GRPC *struct {
		MaxConnTimeout *int32 `json:"max_conn_timeout,omitempty"`
	} `json:"grpc,omitempty"`
	Backend *struct {
		EnableCache        *bool  `json:"enable_cache,omitempty"`
		CacheFlushInterval *int32 `json:"cache_flush_interval,omitempty"`
		PolicyFailClosed   *bool  `json:"policy_fail_closed,omitempty"`
	} `json:"backend,omitempty"`
}

// MixerPolicySchema is spec.policy.mixer.
type MixerPolicySchema struct {
	EnableChecks *bool `json:"enableChecks,omitempty"`
	FailOpen     *bool `json:"failOpen,omitempty"`
	Adapters     *struct {
		UseAdapterCRDs *bool `json:"useAdapterCRDs,omitempty"`
		KubernetesEnv  *bool `json:"kubernetesenv,omitempty"`
	} `json:"adapters,omitempty"`
}

// RemotePolicySchema is spec.policy.remote.
type RemotePolicySchema struct {
	Address       string `json:"address,omitempty"`
	CreateService *bool  `json:"createService,omitempty"`
	EnableChecks  *bool  `json:"enableChecks,omitempty"`
	FailOpen      *bool  `json:"failOpen,omitempty"`
}

// TelemetryBatchingSchema is how Mixer telemetry is batched.
type TelemetryBatchingSchema struct {
	MaxEntries *int32 `json:"maxEntries,omitempty"`
	MaxTime    string `json:"maxTime,omitempty"`
}

// MixerTelemetrySchema is spec.telemetry.mixer.
type MixerTelemetrySchema struct {
	SessionAffinity *bool                    `json:"sessionAffinity,omitempty"`
	Batching        *TelemetryBatchingSchema `json:"batching,omitempty"`
	Adapters        *struct {
		UseAdapterCRDs *bool `json:"useAdapterCRDs,omitempty"`
		KubernetesEnv  *bool `json:"kubernetesenv,omitempty"`
		Stdio          *struct {
			Enablement   `json:",inline"`
			OutputAsJSON *bool `json:"outputAsJSON,omitempty"`
		} `json:"stdio,omitempty"`
		Prometheus *struct {
			Enablement            `json:",inline"`
			MetricsExpiryDuration string `json:"metricsExpiryDuration,omitempty"`
		} `json:"prometheus,omitempty"`
		Stackdriver *struct {
			Enablement   `json:",inline"`
			ContextGraph *Enablement            `json:"contextGraph,omitempty"`
			Logging      *Enablement            `json:"logging,omitempty"`
			Telemetry    *Enablement            `json:"telemetry,omitempty"`
			Auth         *StackdriverAuthSchema `json:"auth,omitempty"`
			Tracer       *struct {
				Enablement        `json:",inline"`
				SampleProbability *int32 `json:"sampleProbability,omitempty"`
			} `json:"tracer,omitempty"`
		} `json:"stackdriver,omitempty"`
	} `json:"adapters,omitempty"`
}

// RemoteTelemetrySchema is spec.telemetry.remote.
type RemoteTelemetrySchema struct {
	Address       string                   `json:"address,omitempty"`
	CreateService *bool                    `json:"createService,omitempty"`
	Batching      *TelemetryBatchingSchema `json:"batching,omitempty"`
}

// IstiodTelemetrySchema is spec.telemetry.istiod: the telemetry filters of the proxies.
type IstiodTelemetrySchema struct {
	MetadataExchange *struct {
		WASMEnabled *bool `json:"wasmEnabled,omitempty"`
	} `json:"metadataExchange,omitempty"`
	PrometheusFilter *struct {
		Scrape      *bool `json:"scrape,omitempty"`
		WASMEnabled *bool `json:"wasmEnabled,omitempty"`
	} `json:"prometheusFilter,omitempty"`
	StackDriverFilter *struct {
		Logging         *bool          `json:"logging,omitempty"`
		Monitoring      *bool          `json:"monitoring,omitempty"`
		Topology        *bool          `json:"topology,omitempty"`
		DisableOutbound *bool          `json:"disableOutbound,omitempty"`
		ConfigOverride  map[string]any `json:"configOverride,omitempty"`
	} `json:"stackDriverFilter,omitempty"`
	AccessLogTelemetryFilter *struct {
		LogWindowDuration string `json:"logWindowDuration,omitempty"`
	} `json:"accessLogTelemetryFilter,omitempty"`
}

// MeshExpansionSchema is spec.cluster.meshExpansion.
type MeshExpansionSchema struct {
	Enablement `json:",inline"`
	ILBGateway *GatewayConfig `json:"ilbGateway,omitempty"`
}

// GatewaySDSSchema is the SDS sidecar of an ingress gateway (gone upstream: gateways read certificates by SDS).
type GatewaySDSSchema struct {
	Enablement `json:",inline"`
	Runtime    *ContainerConfig `json:"runtime,omitempty"`
}

// AffinitySchema is the affinity of a component's pod: a Kubernetes affinity whose podAntiAffinity also takes
// the short forms requiredDuringScheduling and preferredDuringScheduling.
type AffinitySchema struct {
	corev1.Affinity `json:",inline"`
	PodAntiAffinity *struct {
		*corev1.PodAntiAffinity   `json:",inline"`
		RequiredDuringScheduling  []PodAntiAffinityTermSchema `json:"requiredDuringScheduling,omitempty"`
		PreferredDuringScheduling []PodAntiAffinityTermSchema `json:"preferredDuringScheduling,omitempty"`
	} `json:"podAntiAffinity,omitempty"`
}

// PodAntiAffinityTermSchema is a short-form pod anti-affinity term: a label requirement and a topology key.
type PodAntiAffinityTermSchema struct {
	metav1.LabelSelectorRequirement `json:",inline"`
	TopologyKey                     string `json:"topologyKey,omitempty"`
}
