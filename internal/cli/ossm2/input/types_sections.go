package input

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProxyConfig is spec.proxy.
type ProxyConfig struct {
	Logging             *ProxyLogging       `json:"logging,omitempty"`
	Networking          *ProxyNetworking    `json:"networking,omitempty"`
	Runtime             *ProxyRuntime       `json:"runtime,omitempty"`
	Injection           *ProxyInjection     `json:"injection,omitempty"`
	AdminPort           *int32              `json:"adminPort,omitempty"`
	Concurrency         *int32              `json:"concurrency,omitempty"`
	AccessLogging       *ProxyAccessLog     `json:"accessLogging,omitempty"`
	EnvoyMetricsService *EnvoyServiceConfig `json:"envoyMetricsService,omitempty"`
}

// ProxyLogging is spec.proxy.logging.
type ProxyLogging struct {
	Level           string            `json:"level,omitempty"`
	ComponentLevels map[string]string `json:"componentLevels,omitempty"`
}

// ProxyNetworking is spec.proxy.networking.
type ProxyNetworking struct {
	ClusterDomain     string          `json:"clusterDomain,omitempty"`
	ConnectionTimeout string          `json:"connectionTimeout,omitempty"`
	MaxConnectionAge  string          `json:"maxConnectionAge,omitempty"`
	Initialization    *NetworkInit    `json:"initialization,omitempty"`
	TrafficControl    *TrafficControl `json:"trafficControl,omitempty"`
	Protocol          *ProtocolConfig `json:"protocol,omitempty"`
	DNS               *DNSConfig      `json:"dns,omitempty"`
}

// NetworkInit is spec.proxy.networking.initialization: how pod networking is set up.
type NetworkInit struct {
	Type          string `json:"type,omitempty"`
	InitContainer *struct {
		Runtime *ContainerConfig `json:"runtime,omitempty"`
	} `json:"initContainer,omitempty"`
}

// TrafficControl is spec.proxy.networking.trafficControl.
type TrafficControl struct {
	Inbound  *InboundTraffic  `json:"inbound,omitempty"`
	Outbound *OutboundTraffic `json:"outbound,omitempty"`
}

// InboundTraffic is spec.proxy.networking.trafficControl.inbound.
type InboundTraffic struct {
	InterceptionMode string   `json:"interceptionMode,omitempty"`
	IncludedPorts    []string `json:"includedPorts,omitempty"`
	ExcludedPorts    []int32  `json:"excludedPorts,omitempty"`
}

// OutboundTraffic is spec.proxy.networking.trafficControl.outbound.
type OutboundTraffic struct {
	IncludedIPRanges []string `json:"includedIPRanges,omitempty"`
	ExcludedIPRanges []string `json:"excludedIPRanges,omitempty"`
	ExcludedPorts    []int32  `json:"excludedPorts,omitempty"`
	Policy           string   `json:"policy,omitempty"`
}

// ProtocolConfig is spec.proxy.networking.protocol.
type ProtocolConfig struct {
	AutoDetect *struct {
		Timeout  string `json:"timeout,omitempty"`
		Inbound  *bool  `json:"inbound,omitempty"`
		Outbound *bool  `json:"outbound,omitempty"`
	} `json:"autoDetect,omitempty"`
}

// DNSConfig is spec.proxy.networking.dns.
type DNSConfig struct {
	SearchSuffixes []string `json:"searchSuffixes,omitempty"`
	RefreshRate    string   `json:"refreshRate,omitempty"`
}

// ProxyRuntime is spec.proxy.runtime.
type ProxyRuntime struct {
	Readiness *ProxyReadiness  `json:"readiness,omitempty"`
	Container *ContainerConfig `json:"container,omitempty"`
}

// ProxyReadiness is spec.proxy.runtime.readiness.
type ProxyReadiness struct {
	RewriteApplicationProbes *bool  `json:"rewriteApplicationProbes,omitempty"`
	StatusPort               *int32 `json:"statusPort,omitempty"`
	InitialDelaySeconds      *int32 `json:"initialDelaySeconds,omitempty"`
	PeriodSeconds            *int32 `json:"periodSeconds,omitempty"`
	FailureThreshold         *int32 `json:"failureThreshold,omitempty"`
}

// ProxyInjection is spec.proxy.injection.
type ProxyInjection struct {
	AutoInject           *bool                  `json:"autoInject,omitempty"`
	AlwaysInjectSelector []metav1.LabelSelector `json:"alwaysInjectSelector,omitempty"`
	NeverInjectSelector  []metav1.LabelSelector `json:"neverInjectSelector,omitempty"`
	InjectedAnnotations  map[string]string      `json:"injectedAnnotations,omitempty"`
}

// ProxyAccessLog is spec.proxy.accessLogging.
type ProxyAccessLog struct {
	File *struct {
		Name     string `json:"name,omitempty"`
		Encoding string `json:"encoding,omitempty"`
		Format   string `json:"format,omitempty"`
	} `json:"file,omitempty"`
	EnvoyService *EnvoyServiceConfig `json:"envoyService,omitempty"`
}

// EnvoyServiceConfig is a remote service the proxies send to (access log or metrics service).
type EnvoyServiceConfig struct {
	Enablement   `json:",inline"`
	Address      string `json:"address,omitempty"`
	TCPKeepalive *struct {
		Probes   *uint32 `json:"probes,omitempty"`
		Time     string  `json:"time,omitempty"`
		Interval string  `json:"interval,omitempty"`
	} `json:"tcpKeepalive,omitempty"`
	TLSSettings *struct {
		Mode              string   `json:"mode,omitempty"`
		ClientCertificate string   `json:"clientCertificate,omitempty"`
		PrivateKey        string   `json:"privateKey,omitempty"`
		CACertificates    string   `json:"caCertificates,omitempty"`
		SNIHost           string   `json:"sni,omitempty"`
		SubjectAltNames   []string `json:"subjectAltNames,omitempty"`
	} `json:"tlsSettings,omitempty"`
}

// SecurityConfig is spec.security.
type SecurityConfig struct {
	Trust                *TrustConfig          `json:"trust,omitempty"`
	CertificateAuthority *CAConfig             `json:"certificateAuthority,omitempty"`
	Identity             *IdentityConfig       `json:"identity,omitempty"`
	ControlPlane         *ControlPlaneSecurity `json:"controlPlane,omitempty"`
	DataPlane            *struct {
		MTLS     *bool `json:"mtls,omitempty"`
		AutoMTLS *bool `json:"automtls,omitempty"`
	} `json:"dataPlane,omitempty"`
	ManageNetworkPolicy *bool  `json:"manageNetworkPolicy,omitempty"`
	JwksResolverCA      string `json:"jwksResolverCA,omitempty"`
}

// TrustConfig is spec.security.trust.
type TrustConfig struct {
	Domain            string   `json:"domain,omitempty"`
	AdditionalDomains []string `json:"additionalDomains,omitempty"`
}

// IdentityConfig is spec.security.identity.
type IdentityConfig struct {
	Type       string             `json:"type,omitempty"`
	Kubernetes KubernetesIdentity `json:"kubernetes,omitempty"`
	ThirdParty *struct {
		TokenPath string `json:"tokenPath,omitempty"`
		Issuer    string `json:"issuer,omitempty"`
		Audience  string `json:"audience,omitempty"`
	} `json:"thirdParty,omitempty"`
}

// ControlPlaneSecurity is spec.security.controlPlane.
type ControlPlaneSecurity struct {
	MTLS         *bool  `json:"mtls,omitempty"`
	CertProvider string `json:"certProvider,omitempty"`
	TLS          *struct {
		CipherSuites       []string `json:"cipherSuites,omitempty"`
		ECDHCurves         []string `json:"ecdhCurves,omitempty"`
		MinProtocolVersion string   `json:"minProtocolVersion,omitempty"`
		MaxProtocolVersion string   `json:"maxProtocolVersion,omitempty"`
	} `json:"tls,omitempty"`
}

// CAConfig is spec.security.certificateAuthority.
type CAConfig struct {
	Type   string    `json:"type,omitempty"`
	Istiod *IstiodCA `json:"istiod,omitempty"`
	Custom *struct {
		Address string `json:"address,omitempty"`
	} `json:"custom,omitempty"`
	CertManager *struct {
		Address             string `json:"address,omitempty"`
		PilotSecretName     string `json:"pilotSecretName,omitempty"`
		RootCAConfigMapName string `json:"rootCAConfigMapName,omitempty"`
	} `json:"cert-manager,omitempty"`
}

// IstiodCA is spec.security.certificateAuthority.istiod: istiod's own CA.
type IstiodCA struct {
	Type       string `json:"type,omitempty"`
	SelfSigned *struct {
		TTL          string `json:"ttl,omitempty"`
		GracePeriod  string `json:"gracePeriod,omitempty"`
		CheckPeriod  string `json:"checkPeriod,omitempty"`
		EnableJitter *bool  `json:"enableJitter,omitempty"`
		Org          string `json:"org,omitempty"`
	} `json:"selfSigned,omitempty"`
	PrivateKey *struct {
		RootCADir string `json:"rootCADir,omitempty"`
	} `json:"privateKey,omitempty"`
	WorkloadCertTTLDefault string `json:"workloadCertTTLDefault,omitempty"`
	WorkloadCertTTLMax     string `json:"workloadCertTTLMax,omitempty"`
}

// GatewaysConfig is spec.gateways.
type GatewaysConfig struct {
	Enablement      `json:",inline"`
	ClusterIngress  *IngressGateway            `json:"ingress,omitempty"`
	ClusterEgress   *EgressGateway             `json:"egress,omitempty"`
	IngressGateways map[string]*IngressGateway `json:"additionalIngress,omitempty"`
	EgressGateways  map[string]*EgressGateway  `json:"additionalEgress,omitempty"`
	OpenShiftRoute  *Enablement                `json:"openshiftRoute,omitempty"`
}

// GatewayConfig are the settings every gateway has.
type GatewayConfig struct {
	Enablement `json:",inline"`
	Namespace  string            `json:"namespace,omitempty"`
	Service    *GatewayService   `json:"service,omitempty"`
	RouterMode string            `json:"routerMode,omitempty"`
	Volumes    []GatewayVolume   `json:"volumes,omitempty"`
	Runtime    *ComponentRuntime `json:"runtime,omitempty"`
}

// EgressGateway is an egress gateway.
type EgressGateway struct {
	GatewayConfig        `json:",inline"`
	RequestedNetworkView []string `json:"requestedNetworkView,omitempty"`
}

// IngressGateway is an ingress gateway.
type IngressGateway struct {
	GatewayConfig      `json:",inline"`
	SDS                GatewaySDS           `json:"sds,omitempty"`
	RouteConfig        *Enablement          `json:"routeConfig,omitempty"`
	IngressEnabled     *bool                `json:"ingress,omitempty"`
	MeshExpansionPorts []corev1.ServicePort `json:"meshExpansionPorts,omitempty"`
}

// GatewayService is a gateway's Service.
type GatewayService struct {
	corev1.ServiceSpec `json:",inline"`
	Metadata           *MetadataConfig `json:"metadata,omitempty"`
}

// GatewayVolume is a ConfigMap or Secret mounted into a gateway.
type GatewayVolume struct {
	Volume struct {
		Name      string                        `json:"name,omitempty"`
		ConfigMap *corev1.ConfigMapVolumeSource `json:"configMap,omitempty"`
		Secret    *corev1.SecretVolumeSource    `json:"secret,omitempty"`
	} `json:"volume,omitempty"`
	Mount corev1.VolumeMount `json:"volumeMount,omitempty"`
}
