package ossm2

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// The types below describe the parts of OpenShift Service Mesh 2 resources that the conversion reads. They are
// written for this package (not generated from the Maistra API) and cover the fields the conversion rules know.
// A field typed map[string]any is an opaque section: it is dropped as a whole with a warning, and whatever is
// inside it is accepted.

// Input kinds and API groups.
const (
	maistraGroup    = "maistra.io"
	federationGroup = "federation.maistra.io"

	kindSMCP      = "ServiceMeshControlPlane"
	kindSMMR      = "ServiceMeshMemberRoll"
	kindSMM       = "ServiceMeshMember"
	kindNamespace = "Namespace"
	kindGateway   = "Gateway"
)

// enablement is the {enabled: bool} switch many sections share.
type enablement struct {
	Enabled *bool `json:"enabled,omitempty"`
}

// smcpSpec is ServiceMeshControlPlane.spec (and status.appliedSpec) of maistra.io/v2.
type smcpSpec struct {
	Version            string                               `json:"version,omitempty"`
	Profiles           []string                             `json:"profiles,omitempty"`
	Mode               string                               `json:"mode,omitempty"`
	Cluster            *clusterConfig                       `json:"cluster,omitempty"`
	MeshConfig         *smcpMeshConfig                      `json:"meshConfig,omitempty"`
	ExtensionProviders []sailv1.MeshConfigExtensionProvider `json:"extensionProviders,omitempty"`
	General            *generalConfig                       `json:"general,omitempty"`
	Policy             *policyConfig                        `json:"policy,omitempty"`
	Proxy              *proxyConfig                         `json:"proxy,omitempty"`
	Security           *securityConfig                      `json:"security,omitempty"`
	Telemetry          *telemetryConfig                     `json:"telemetry,omitempty"`
	Tracing            *tracingConfig                       `json:"tracing,omitempty"`
	Gateways           *gatewaysConfig                      `json:"gateways,omitempty"`
	Runtime            *runtimeConfig                       `json:"runtime,omitempty"`
	Addons             *addonsConfig                        `json:"addons,omitempty"`
	TechPreview        map[string]any                       `json:"techPreview,omitempty"`
}

type clusterConfig struct {
	Name          string              `json:"name,omitempty"`
	Network       string              `json:"network,omitempty"`
	MultiCluster  *multiClusterConfig `json:"multiCluster,omitempty"`
	MeshExpansion map[string]any      `json:"meshExpansion,omitempty"`
}

type multiClusterConfig struct {
	enablement   `json:",inline"`
	MeshNetworks map[string]meshNetwork `json:"meshNetworks,omitempty"`
}

type meshNetwork struct {
	Endpoints []meshNetworkEndpoint `json:"endpoints,omitempty"`
	Gateways  []meshNetworkGateway  `json:"gateways,omitempty"`
}

type meshNetworkEndpoint struct {
	FromRegistry string `json:"fromRegistry,omitempty"`
	FromCIDR     string `json:"fromCIDR,omitempty"`
}

type meshNetworkGateway struct {
	Service string `json:"service,omitempty"`
	Address string `json:"address,omitempty"`
	Port    *int32 `json:"port,omitempty"`
}

type smcpMeshConfig struct {
	ExtensionProviders []sailv1.MeshConfigExtensionProvider `json:"extensionProviders,omitempty"`
	DiscoverySelectors []metav1.LabelSelector               `json:"discoverySelectors,omitempty"`
}

type generalConfig struct {
	Logging            *loggingConfig `json:"logging,omitempty"`
	ValidationMessages *bool          `json:"validationMessages,omitempty"`
}

type loggingConfig struct {
	ComponentLevels map[string]string `json:"componentLevels,omitempty"`
	LogAsJSON       *bool             `json:"logAsJSON,omitempty"`
}

type policyConfig struct {
	Type   string         `json:"type,omitempty"`
	Mixer  map[string]any `json:"mixer,omitempty"`
	Remote map[string]any `json:"remote,omitempty"`
}

type telemetryConfig struct {
	Type   string         `json:"type,omitempty"`
	Mixer  map[string]any `json:"mixer,omitempty"`
	Remote map[string]any `json:"remote,omitempty"`
	Istiod map[string]any `json:"istiod,omitempty"`
}

type tracingConfig struct {
	Type     string `json:"type,omitempty"`
	Sampling *int32 `json:"sampling,omitempty"`
}

type proxyConfig struct {
	Logging             *proxyLogging     `json:"logging,omitempty"`
	Networking          *proxyNetworking  `json:"networking,omitempty"`
	Runtime             *proxyRuntime     `json:"runtime,omitempty"`
	Injection           *proxyInjection   `json:"injection,omitempty"`
	AdminPort           *int32            `json:"adminPort,omitempty"`
	Concurrency         *int32            `json:"concurrency,omitempty"`
	AccessLogging       *proxyAccessLog   `json:"accessLogging,omitempty"`
	EnvoyMetricsService *envoyServiceConf `json:"envoyMetricsService,omitempty"`
}

type proxyLogging struct {
	Level           string            `json:"level,omitempty"`
	ComponentLevels map[string]string `json:"componentLevels,omitempty"`
}

type proxyNetworking struct {
	ClusterDomain     string          `json:"clusterDomain,omitempty"`
	ConnectionTimeout string          `json:"connectionTimeout,omitempty"`
	MaxConnectionAge  string          `json:"maxConnectionAge,omitempty"`
	Initialization    *networkInit    `json:"initialization,omitempty"`
	TrafficControl    *trafficControl `json:"trafficControl,omitempty"`
	Protocol          *protocolConfig `json:"protocol,omitempty"`
	DNS               *dnsConfig      `json:"dns,omitempty"`
}

type networkInit struct {
	Type          string `json:"type,omitempty"`
	InitContainer *struct {
		Runtime *containerConfig `json:"runtime,omitempty"`
	} `json:"initContainer,omitempty"`
}

type trafficControl struct {
	Inbound  *inboundTraffic  `json:"inbound,omitempty"`
	Outbound *outboundTraffic `json:"outbound,omitempty"`
}

type inboundTraffic struct {
	InterceptionMode string   `json:"interceptionMode,omitempty"`
	IncludedPorts    []string `json:"includedPorts,omitempty"`
	ExcludedPorts    []int32  `json:"excludedPorts,omitempty"`
}

type outboundTraffic struct {
	IncludedIPRanges []string `json:"includedIPRanges,omitempty"`
	ExcludedIPRanges []string `json:"excludedIPRanges,omitempty"`
	ExcludedPorts    []int32  `json:"excludedPorts,omitempty"`
	Policy           string   `json:"policy,omitempty"`
}

type protocolConfig struct {
	AutoDetect *struct {
		Timeout  string `json:"timeout,omitempty"`
		Inbound  *bool  `json:"inbound,omitempty"`
		Outbound *bool  `json:"outbound,omitempty"`
	} `json:"autoDetect,omitempty"`
}

type dnsConfig struct {
	SearchSuffixes []string `json:"searchSuffixes,omitempty"`
	RefreshRate    string   `json:"refreshRate,omitempty"`
}

type proxyRuntime struct {
	Readiness *struct {
		RewriteApplicationProbes *bool  `json:"rewriteApplicationProbes,omitempty"`
		StatusPort               *int32 `json:"statusPort,omitempty"`
		InitialDelaySeconds      *int32 `json:"initialDelaySeconds,omitempty"`
		PeriodSeconds            *int32 `json:"periodSeconds,omitempty"`
		FailureThreshold         *int32 `json:"failureThreshold,omitempty"`
	} `json:"readiness,omitempty"`
	Container *containerConfig `json:"container,omitempty"`
}

type proxyInjection struct {
	AutoInject           *bool                  `json:"autoInject,omitempty"`
	AlwaysInjectSelector []metav1.LabelSelector `json:"alwaysInjectSelector,omitempty"`
	NeverInjectSelector  []metav1.LabelSelector `json:"neverInjectSelector,omitempty"`
	InjectedAnnotations  map[string]string      `json:"injectedAnnotations,omitempty"`
}

type proxyAccessLog struct {
	File *struct {
		Name     string `json:"name,omitempty"`
		Encoding string `json:"encoding,omitempty"`
		Format   string `json:"format,omitempty"`
	} `json:"file,omitempty"`
	EnvoyService *envoyServiceConf `json:"envoyService,omitempty"`
}

type envoyServiceConf struct {
	enablement   `json:",inline"`
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

// containerConfig is the container part of a component's runtime settings.
type containerConfig struct {
	ImageRegistry    string                        `json:"imageRegistry,omitempty"`
	ImageTag         string                        `json:"imageTag,omitempty"`
	ImagePullPolicy  corev1.PullPolicy             `json:"imagePullPolicy,omitempty"`
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	Resources        *corev1.ResourceRequirements  `json:"resources,omitempty"`
	Image            string                        `json:"imageName,omitempty"`
	Env              map[string]string             `json:"env,omitempty"`
}

type securityConfig struct {
	Trust                *trustConfig `json:"trust,omitempty"`
	CertificateAuthority *caConfig    `json:"certificateAuthority,omitempty"`
	Identity             *struct {
		Type       string         `json:"type,omitempty"`
		Kubernetes map[string]any `json:"kubernetes,omitempty"`
		ThirdParty *struct {
			TokenPath string `json:"tokenPath,omitempty"`
			Issuer    string `json:"issuer,omitempty"`
			Audience  string `json:"audience,omitempty"`
		} `json:"thirdParty,omitempty"`
	} `json:"identity,omitempty"`
	ControlPlane *struct {
		MTLS         *bool  `json:"mtls,omitempty"`
		CertProvider string `json:"certProvider,omitempty"`
		TLS          *struct {
			CipherSuites       []string `json:"cipherSuites,omitempty"`
			ECDHCurves         []string `json:"ecdhCurves,omitempty"`
			MinProtocolVersion string   `json:"minProtocolVersion,omitempty"`
			MaxProtocolVersion string   `json:"maxProtocolVersion,omitempty"`
		} `json:"tls,omitempty"`
	} `json:"controlPlane,omitempty"`
	DataPlane *struct {
		MTLS     *bool `json:"mtls,omitempty"`
		AutoMTLS *bool `json:"automtls,omitempty"`
	} `json:"dataPlane,omitempty"`
	ManageNetworkPolicy *bool  `json:"manageNetworkPolicy,omitempty"`
	JwksResolverCA      string `json:"jwksResolverCA,omitempty"`
}

type trustConfig struct {
	Domain            string   `json:"domain,omitempty"`
	AdditionalDomains []string `json:"additionalDomains,omitempty"`
}

type caConfig struct {
	Type   string `json:"type,omitempty"`
	Istiod *struct {
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
	} `json:"istiod,omitempty"`
	Custom *struct {
		Address string `json:"address,omitempty"`
	} `json:"custom,omitempty"`
	CertManager *struct {
		Address             string `json:"address,omitempty"`
		PilotSecretName     string `json:"pilotSecretName,omitempty"`
		RootCAConfigMapName string `json:"rootCAConfigMapName,omitempty"`
	} `json:"cert-manager,omitempty"`
}

type gatewaysConfig struct {
	enablement      `json:",inline"`
	ClusterIngress  *ingressGateway            `json:"ingress,omitempty"`
	ClusterEgress   *egressGateway             `json:"egress,omitempty"`
	IngressGateways map[string]*ingressGateway `json:"additionalIngress,omitempty"`
	EgressGateways  map[string]*egressGateway  `json:"additionalEgress,omitempty"`
	OpenShiftRoute  *enablement                `json:"openshiftRoute,omitempty"`
}

type gatewayConfig struct {
	enablement `json:",inline"`
	Namespace  string            `json:"namespace,omitempty"`
	Service    *gatewayService   `json:"service,omitempty"`
	RouterMode string            `json:"routerMode,omitempty"`
	Volumes    []gatewayVolume   `json:"volumes,omitempty"`
	Runtime    *componentRuntime `json:"runtime,omitempty"`
}

type egressGateway struct {
	gatewayConfig        `json:",inline"`
	RequestedNetworkView []string `json:"requestedNetworkView,omitempty"`
}

type ingressGateway struct {
	gatewayConfig      `json:",inline"`
	SDS                map[string]any       `json:"sds,omitempty"`
	RouteConfig        *enablement          `json:"routeConfig,omitempty"`
	IngressEnabled     *bool                `json:"ingress,omitempty"`
	MeshExpansionPorts []corev1.ServicePort `json:"meshExpansionPorts,omitempty"`
}

type gatewayService struct {
	corev1.ServiceSpec `json:",inline"`
	Metadata           *metadataConfig `json:"metadata,omitempty"`
}

type gatewayVolume struct {
	Volume struct {
		Name      string                        `json:"name,omitempty"`
		ConfigMap *corev1.ConfigMapVolumeSource `json:"configMap,omitempty"`
		Secret    *corev1.SecretVolumeSource    `json:"secret,omitempty"`
	} `json:"volume,omitempty"`
	Mount corev1.VolumeMount `json:"volumeMount,omitempty"`
}

type metadataConfig struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type runtimeConfig struct {
	Components map[string]*componentRuntime `json:"components,omitempty"`
	Defaults   *struct {
		Deployment *struct {
			PodDisruption *struct {
				enablement     `json:",inline"`
				MinAvailable   *intstr.IntOrString `json:"minAvailable,omitempty"`
				MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
			} `json:"podDisruption,omitempty"`
		} `json:"deployment,omitempty"`
		Pod       *commonPodRuntime `json:"pod,omitempty"`
		Container *containerConfig  `json:"container,omitempty"`
	} `json:"defaults,omitempty"`
}

type componentRuntime struct {
	Deployment *struct {
		Replicas    *int32                     `json:"replicas,omitempty"`
		Strategy    *appsv1.DeploymentStrategy `json:"strategy,omitempty"`
		AutoScaling *struct {
			enablement                     `json:",inline"`
			MinReplicas                    *int32 `json:"minReplicas,omitempty"`
			MaxReplicas                    *int32 `json:"maxReplicas,omitempty"`
			TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`
		} `json:"autoScaling,omitempty"`
	} `json:"deployment,omitempty"`
	Pod *struct {
		commonPodRuntime `json:",inline"`
		Metadata         *metadataConfig `json:"metadata,omitempty"`
		Affinity         map[string]any  `json:"affinity,omitempty"`
	} `json:"pod,omitempty"`
	Container *containerConfig `json:"container,omitempty"`
}

type commonPodRuntime struct {
	NodeSelector      map[string]string   `json:"nodeSelector,omitempty"`
	Tolerations       []corev1.Toleration `json:"tolerations,omitempty"`
	PriorityClassName string              `json:"priorityClassName,omitempty"`
}

// addonsConfig lists the add-ons by name; what is inside each is read loosely (only enabled, name, scrape),
// since none of it is carried over.
type addonsConfig struct {
	Prometheus  map[string]any `json:"prometheus,omitempty"`
	Stackdriver map[string]any `json:"stackdriver,omitempty"`
	Jaeger      map[string]any `json:"jaeger,omitempty"`
	Grafana     map[string]any `json:"grafana,omitempty"`
	Kiali       map[string]any `json:"kiali,omitempty"`
	ThreeScale  map[string]any `json:"3scale,omitempty"`
}

// smmrSpec is ServiceMeshMemberRoll.spec of maistra.io/v1.
type smmrSpec struct {
	Members         []string               `json:"members,omitempty"`
	MemberSelectors []metav1.LabelSelector `json:"memberSelectors,omitempty"`
}

// smmSpec is ServiceMeshMember.spec of maistra.io/v1.
type smmSpec struct {
	ControlPlaneRef struct {
		Name      string `json:"name,omitempty"`
		Namespace string `json:"namespace,omitempty"`
	} `json:"controlPlaneRef"`
}

// istioGatewaySpec is the part of an Istio Gateway (networking.istio.io) that OpenShift Route generation reads.
type istioGatewaySpec struct {
	Selector map[string]string `json:"selector,omitempty"`
	Servers  []struct {
		Hosts []string `json:"hosts,omitempty"`
		Port  struct {
			Number   uint32 `json:"number,omitempty"`
			Name     string `json:"name,omitempty"`
			Protocol string `json:"protocol,omitempty"`
		} `json:"port"`
		TLS map[string]any `json:"tls,omitempty"`
	} `json:"servers,omitempty"`
}
