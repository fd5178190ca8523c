package input

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	sailv1 "github.com/sail-mesh/sail/api/v1"
)

// The types below describe the parts of OpenShift Service Mesh 2 resources that the conversion reads. They are
// written for this package (not generated from the Maistra API) and cover the fields the conversion rules know.
// A field typed strict.Opaque (see schema.go) is a section that is not converted: it is read loosely as a map and
// dropped with a warning, but checked against its schema so that a misplaced field is still reported. A field
// typed map[string]any (spec.techPreview) holds raw Helm values, which the conversion checks against Istio's
// values schema instead.

// Input kinds and API groups.
const (
	maistraGroup    = "maistra.io"
	federationGroup = "federation.maistra.io"

	// KindSMCP is the kind of a ServiceMeshControlPlane (maistra.io/v2).
	KindSMCP = "ServiceMeshControlPlane"
	// KindSMMR is the kind of a ServiceMeshMemberRoll (maistra.io/v1).
	KindSMMR = "ServiceMeshMemberRoll"
	// KindSMM is the kind of a ServiceMeshMember (maistra.io/v1).
	KindSMM = "ServiceMeshMember"
	// KindNamespace is the kind of a Namespace, read for its labels.
	KindNamespace = "Namespace"
	// KindGateway is the kind of an Istio Gateway (networking.istio.io), read for its hosts.
	KindGateway = "Gateway"
)

// Enablement is the {enabled: bool} switch many sections share.
type Enablement struct {
	Enabled *bool `json:"enabled,omitempty"`
}

// On tells whether the switch is set and true.
func (e *Enablement) On() bool { return e != nil && e.Enabled != nil && *e.Enabled }

// Off tells whether the switch is set and false.
func (e *Enablement) Off() bool { return e != nil && e.Enabled != nil && !*e.Enabled }

// SMCPSpec is ServiceMeshControlPlane.spec (and status.appliedSpec) of maistra.io/v2.
type SMCPSpec struct {
	Version            string                               `json:"version,omitempty"`
	Profiles           []string                             `json:"profiles,omitempty"`
	Mode               string                               `json:"mode,omitempty"`
	Cluster            *ClusterConfig                       `json:"cluster,omitempty"`
	MeshConfig         *MeshConfig                          `json:"meshConfig,omitempty"`
	ExtensionProviders []sailv1.MeshConfigExtensionProvider `json:"extensionProviders,omitempty"`
	General            *GeneralConfig                       `json:"general,omitempty"`
	Policy             *PolicyConfig                        `json:"policy,omitempty"`
	Proxy              *ProxyConfig                         `json:"proxy,omitempty"`
	Security           *SecurityConfig                      `json:"security,omitempty"`
	Telemetry          *TelemetryConfig                     `json:"telemetry,omitempty"`
	Tracing            *TracingConfig                       `json:"tracing,omitempty"`
	Gateways           *GatewaysConfig                      `json:"gateways,omitempty"`
	Runtime            *RuntimeConfig                       `json:"runtime,omitempty"`
	Addons             *AddonsConfig                        `json:"addons,omitempty"`
	TechPreview        map[string]any                       `json:"techPreview,omitempty"`
}

// ClusterConfig is spec.cluster.
type ClusterConfig struct {
	Name          string              `json:"name,omitempty"`
	Network       string              `json:"network,omitempty"`
	MultiCluster  *MultiClusterConfig `json:"multiCluster,omitempty"`
	MeshExpansion MeshExpansion       `json:"meshExpansion,omitempty"`
}

// MultiClusterConfig is spec.cluster.multiCluster.
type MultiClusterConfig struct {
	Enablement   `json:",inline"`
	MeshNetworks map[string]MeshNetwork `json:"meshNetworks,omitempty"`
}

// MeshNetwork is one network of spec.cluster.multiCluster.meshNetworks.
type MeshNetwork struct {
	Endpoints []MeshNetworkEndpoint `json:"endpoints,omitempty"`
	Gateways  []MeshNetworkGateway  `json:"gateways,omitempty"`
}

// MeshNetworkEndpoint says which endpoints belong to a mesh network.
type MeshNetworkEndpoint struct {
	FromRegistry string `json:"fromRegistry,omitempty"`
	FromCIDR     string `json:"fromCIDR,omitempty"`
}

// MeshNetworkGateway is a gateway of a mesh network.
type MeshNetworkGateway struct {
	Service string `json:"service,omitempty"`
	Address string `json:"address,omitempty"`
	Port    *int32 `json:"port,omitempty"`
}

// MeshConfig is spec.meshConfig.
type MeshConfig struct {
	ExtensionProviders []sailv1.MeshConfigExtensionProvider `json:"extensionProviders,omitempty"`
	DiscoverySelectors []metav1.LabelSelector               `json:"discoverySelectors,omitempty"`
}

// GeneralConfig is spec.general.
type GeneralConfig struct {
	Logging            *LoggingConfig `json:"logging,omitempty"`
	ValidationMessages *bool          `json:"validationMessages,omitempty"`
}

// LoggingConfig is spec.general.logging.
type LoggingConfig struct {
	ComponentLevels map[string]string `json:"componentLevels,omitempty"`
	LogAsJSON       *bool             `json:"logAsJSON,omitempty"`
}

// PolicyConfig is spec.policy.
type PolicyConfig struct {
	Type   string       `json:"type,omitempty"`
	Mixer  MixerPolicy  `json:"mixer,omitempty"`
	Remote RemotePolicy `json:"remote,omitempty"`
}

// TelemetryConfig is spec.telemetry.
type TelemetryConfig struct {
	Type   string          `json:"type,omitempty"`
	Mixer  MixerTelemetry  `json:"mixer,omitempty"`
	Remote RemoteTelemetry `json:"remote,omitempty"`
	Istiod IstiodTelemetry `json:"istiod,omitempty"`
}

// TracingConfig is spec.tracing.
type TracingConfig struct {
	Type     string `json:"type,omitempty"`
	Sampling *int32 `json:"sampling,omitempty"`
}

// AddonsConfig lists the add-ons by name; what is inside each is read loosely (only enabled, name, scrape),
// since none of it is carried over, but checked against the add-on's schema.
type AddonsConfig struct {
	Prometheus  PrometheusAddon  `json:"prometheus,omitempty"`
	Stackdriver StackdriverAddon `json:"stackdriver,omitempty"`
	Jaeger      JaegerAddon      `json:"jaeger,omitempty"`
	Grafana     GrafanaAddon     `json:"grafana,omitempty"`
	Kiali       KialiAddon       `json:"kiali,omitempty"`
	ThreeScale  ThreeScaleAddon  `json:"3scale,omitempty"`
}

// SMMRSpec is ServiceMeshMemberRoll.spec of maistra.io/v1.
type SMMRSpec struct {
	Members         []string               `json:"members,omitempty"`
	MemberSelectors []metav1.LabelSelector `json:"memberSelectors,omitempty"`
}

// SMMSpec is ServiceMeshMember.spec of maistra.io/v1.
type SMMSpec struct {
	ControlPlaneRef ControlPlaneRef `json:"controlPlaneRef"`
}

// ControlPlaneRef names the ServiceMeshControlPlane a ServiceMeshMember joins.
type ControlPlaneRef struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// IstioGatewaySpec is the part of an Istio Gateway (networking.istio.io) that OpenShift Route generation reads.
type IstioGatewaySpec struct {
	Selector map[string]string    `json:"selector,omitempty"`
	Servers  []IstioGatewayServer `json:"servers,omitempty"`
}

// IstioGatewayServer is one server of an Istio Gateway.
type IstioGatewayServer struct {
	Hosts []string `json:"hosts,omitempty"`
	Port  struct {
		Number   uint32 `json:"number,omitempty"`
		Name     string `json:"name,omitempty"`
		Protocol string `json:"protocol,omitempty"`
	} `json:"port"`
	TLS map[string]any `json:"tls,omitempty"`
}

// ContainerConfig is the container part of a component's runtime settings.
type ContainerConfig struct {
	ImageRegistry    string                        `json:"imageRegistry,omitempty"`
	ImageTag         string                        `json:"imageTag,omitempty"`
	ImagePullPolicy  corev1.PullPolicy             `json:"imagePullPolicy,omitempty"`
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	Resources        *corev1.ResourceRequirements  `json:"resources,omitempty"`
	Image            string                        `json:"imageName,omitempty"`
	Env              map[string]string             `json:"env,omitempty"`
}

// RuntimeConfig is spec.runtime.
type RuntimeConfig struct {
	Components map[string]*ComponentRuntime `json:"components,omitempty"`
	Defaults   *RuntimeDefaults             `json:"defaults,omitempty"`
}

// RuntimeDefaults is spec.runtime.defaults.
type RuntimeDefaults struct {
	Deployment *struct {
		PodDisruption *PodDisruption `json:"podDisruption,omitempty"`
	} `json:"deployment,omitempty"`
	Pod       *PodRuntime      `json:"pod,omitempty"`
	Container *ContainerConfig `json:"container,omitempty"`
}

// PodDisruption is spec.runtime.defaults.deployment.podDisruption.
type PodDisruption struct {
	Enablement     `json:",inline"`
	MinAvailable   *intstr.IntOrString `json:"minAvailable,omitempty"`
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
}

// ComponentRuntime is the runtime of one component (spec.runtime.components.<name>, and of each gateway).
type ComponentRuntime struct {
	Deployment *ComponentDeployment `json:"deployment,omitempty"`
	Pod        *ComponentPod        `json:"pod,omitempty"`
	Container  *ContainerConfig     `json:"container,omitempty"`
}

// ComponentDeployment is the deployment part of a component's runtime.
type ComponentDeployment struct {
	Replicas    *int32                     `json:"replicas,omitempty"`
	Strategy    *appsv1.DeploymentStrategy `json:"strategy,omitempty"`
	AutoScaling *AutoScaling               `json:"autoScaling,omitempty"`
}

// AutoScaling is the autoscaling of a component's deployment.
type AutoScaling struct {
	Enablement                     `json:",inline"`
	MinReplicas                    *int32 `json:"minReplicas,omitempty"`
	MaxReplicas                    *int32 `json:"maxReplicas,omitempty"`
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`
}

// ComponentPod is the pod part of a component's runtime.
type ComponentPod struct {
	PodRuntime `json:",inline"`
	Metadata   *MetadataConfig `json:"metadata,omitempty"`
	Affinity   PodAffinity     `json:"affinity,omitempty"`
}

// PodRuntime are the pod settings that components and the runtime defaults share.
type PodRuntime struct {
	NodeSelector      map[string]string   `json:"nodeSelector,omitempty"`
	Tolerations       []corev1.Toleration `json:"tolerations,omitempty"`
	PriorityClassName string              `json:"priorityClassName,omitempty"`
}

// MetadataConfig are labels and annotations to add to an object.
type MetadataConfig struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}
