package v1

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ZTunnelKind is the kind name of ZTunnel.
const ZTunnelKind = "ZTunnel"

// ZTunnelName is the only name a ZTunnel may have: there is one ztunnel node proxy per cluster.
const ZTunnelName = "default"

// Condition reasons about ztunnel.
const (
	// ReasonZTunnelNotFound: an IstioRevision runs in ambient mode and no ZTunnel exists.
	ReasonZTunnelNotFound = "ZTunnelNotFound"
	// ReasonZTunnelNotHealthy: an IstioRevision runs in ambient mode and the ZTunnel is not ready.
	ReasonZTunnelNotHealthy = "ZTunnelNotHealthy"
	// ReasonTargetNotFound: the Istio or IstioRevision a ZTunnel's spec.targetRef names does not exist (or has
	// no active revision yet).
	ReasonTargetNotFound = "TargetNotFound"
)

// ZTunnelSpec is the desired state of the ztunnel node proxy.
type ZTunnelSpec struct {
	// Version of Istio's ztunnel chart to install (1.24 or newer): a supported version such as v1.31.0, or an alias
	// such as v1.31-latest or latest. Defaults to the newest supported version.
	// sail:versions-enum
	// +kubebuilder:validation:Enum=v1.31.0;v1.30.0;latest;v1.31-latest;v1.30-latest
	// sail:versions-default
	// +kubebuilder:default=v1.31.0
	// +optional
	Version string `json:"version,omitempty"`

	// Namespace the ztunnel DaemonSet is installed in. It must exist. Immutable.
	// +kubebuilder:default=ztunnel
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.namespace is immutable; delete the ZTunnel and create it again to move it"
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// TargetRef names the control plane ztunnel connects to. When set, the global values, meshConfig and
	// revision of that control plane's revision flow into ztunnel's values (spec.values still win), so that for
	// example global.network or a custom trust domain need to be set only once, on the Istio.
	// +optional
	TargetRef *ZTunnelTargetRef `json:"targetRef,omitempty"`

	// Values are Helm values of Istio's ztunnel chart.
	// +optional
	Values *ZTunnelValues `json:"values,omitempty"`
}

// ZTunnelTargetRef names an Istio (whose active revision is used) or an IstioRevision.
type ZTunnelTargetRef struct {
	// Kind is Istio or IstioRevision.
	// +kubebuilder:validation:Enum=Istio;IstioRevision
	Kind string `json:"kind"`

	// Name of the Istio or IstioRevision.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ZTunnelValues are the Helm values of Istio's ztunnel chart that Sail lets users set.
type ZTunnelValues struct {
	// Ztunnel configures the ztunnel node proxy. The ztunnel chart reads these settings at the top level of its
	// values; Sail lifts them there.
	// +optional
	Ztunnel *ZTunnelConfig `json:"ztunnel,omitempty"`

	// Global holds settings shared by Istio's components (image hub, tag and variant, network, multiCluster,
	// logging, ...). The ztunnel chart uses them as defaults of the settings under ztunnel.
	// +optional
	Global *GlobalConfig `json:"global,omitempty"`
}

// ZTunnelConfig are the settings of the ztunnel chart.
type ZTunnelConfig struct {
	// Hub to pull the image from. The image is `Hub/Image:Tag-Variant`.
	// +optional
	Hub string `json:"hub,omitempty"`

	// Tag of the image. The image is `Hub/Image:Tag-Variant`.
	// +optional
	Tag string `json:"tag,omitempty"`

	// Variant of the image: debug or distroless; empty for the version's default.
	// +optional
	Variant string `json:"variant,omitempty"`

	// Image name (default ztunnel). When it contains a "/", it replaces the whole image reference.
	// +optional
	Image string `json:"image,omitempty"`

	// ImagePullPolicy of the ztunnel container.
	// +kubebuilder:validation:Enum=Always;Never;IfNotPresent
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// ImagePullSecrets are added to ztunnel's ServiceAccount.
	// +optional
	ImagePullSecrets []string `json:"imagePullSecrets,omitempty"`

	// Network this cluster belongs to (a name of the mesh networks). Overrides global.network.
	// +optional
	Network string `json:"network,omitempty"`

	// ResourceName overrides the name of ztunnel's objects (default ztunnel). When set, istiod's
	// trustedZtunnelName must be set to the same name.
	// +optional
	ResourceName string `json:"resourceName,omitempty"`

	// Labels added to ztunnel's top-level objects.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations added to ztunnel's top-level objects.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// PodLabels are added to ztunnel's pods.
	// +optional
	PodLabels map[string]string `json:"podLabels,omitempty"`

	// PodAnnotations are added to ztunnel's pods (the chart's default annotations let Prometheus scrape them).
	// +optional
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`

	// NodeSelector restricts the nodes ztunnel runs on (in addition to kubernetes.io/os: linux).
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Affinity of ztunnel's pods (a Kubernetes Affinity).
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	Affinity *apiextensionsv1.JSON `json:"affinity,omitempty"`

	// Tolerations of ztunnel's pods. The chart's default tolerates every taint, so ztunnel runs on every node.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// Env adds environment variables to the ztunnel container.
	// +optional
	Env map[string]string `json:"env,omitempty"`

	// Resources of the ztunnel container.
	// +optional
	Resources *Resources `json:"resources,omitempty"`

	// ResourceQuotas creates a ResourceQuota for ztunnel's node-critical pods.
	// +optional
	ResourceQuotas *ResourceQuotas `json:"resourceQuotas,omitempty"`

	// VolumeMounts are added to the ztunnel container (Kubernetes VolumeMounts).
	// +kubebuilder:validation:items:Type=object
	// +optional
	VolumeMounts []apiextensionsv1.JSON `json:"volumeMounts,omitempty"`

	// Volumes are added to ztunnel's pods (Kubernetes Volumes).
	// +kubebuilder:validation:items:Type=object
	// +optional
	Volumes []apiextensionsv1.JSON `json:"volumes,omitempty"`

	// PeerCaCrl turns on checking certificates against the revocation list of a plugged-in CA.
	// +optional
	PeerCaCrl *ZTunnelPeerCaCrlConfig `json:"peerCaCrl,omitempty"`

	// MultiCluster settings; ztunnel uses multiCluster.clusterName.
	// +optional
	MultiCluster *MultiClusterConfig `json:"multiCluster,omitempty"`

	// MeshConfig of ztunnel: the chart uses meshConfig.defaultConfig.proxyMetadata (as environment variables).
	// +optional
	MeshConfig *ZTunnelMeshConfig `json:"meshConfig,omitempty"`

	// TerminationGracePeriodSeconds is how long ztunnel gets to drain its connections when it stops.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`

	// Revision of the control plane ztunnel connects to (istiod-<revision>), unless caAddress and xdsAddress
	// are set.
	// +optional
	Revision string `json:"revision,omitempty"`

	// CaAddress is the address of the CA that issues ztunnel's certificates.
	// +optional
	CaAddress string `json:"caAddress,omitempty"`

	// XdsAddress is the address of the control plane's XDS server, including the port.
	// +optional
	XdsAddress string `json:"xdsAddress,omitempty"`

	// IstioNamespace is the namespace of the control plane ztunnel connects to.
	// +optional
	IstioNamespace string `json:"istioNamespace,omitempty"`

	// TrustBundleName is the ConfigMap with the mesh's root certificate (default istio-ca-root-cert).
	// +optional
	TrustBundleName string `json:"trustBundleName,omitempty"`

	// LogLevel of ztunnel: trace, debug, info, warn or error (RUST_LOG syntax is accepted).
	// +optional
	LogLevel string `json:"logLevel,omitempty"`

	// LogAsJson outputs logs as JSON.
	// +optional
	LogAsJson *bool `json:"logAsJson,omitempty"`

	// SeLinuxOptions of the ztunnel container.
	// +optional
	SeLinuxOptions *corev1.SELinuxOptions `json:"seLinuxOptions,omitempty"`

	// UpdateStrategy of the DaemonSet.
	// +optional
	UpdateStrategy *appsv1.DaemonSetUpdateStrategy `json:"updateStrategy,omitempty"`

	// DnsPolicy of ztunnel's pods.
	// +optional
	DnsPolicy corev1.DNSPolicy `json:"dnsPolicy,omitempty"`

	// DnsConfig of ztunnel's pods.
	// +optional
	DnsConfig *corev1.PodDNSConfig `json:"dnsConfig,omitempty"`

	// ResourceScope selects which objects are rendered: all, cluster (cluster-scoped only) or namespace
	// (namespaced only).
	// +kubebuilder:validation:Enum=all;cluster;namespace
	// +optional
	ResourceScope string `json:"resourceScope,omitempty"`
}

// ZTunnelMeshConfig is the part of Istio's MeshConfig that the ztunnel chart reads.
type ZTunnelMeshConfig struct {
	// DefaultConfig holds proxy defaults.
	// +optional
	DefaultConfig *ZTunnelProxyConfig `json:"defaultConfig,omitempty"`
}

// ZTunnelProxyConfig is the part of Istio's ProxyConfig that the ztunnel chart reads.
type ZTunnelProxyConfig struct {
	// ProxyMetadata are passed to ztunnel as environment variables.
	// +optional
	ProxyMetadata map[string]string `json:"proxyMetadata,omitempty"`
}

// ZTunnelPeerCaCrlConfig configures certificate revocation lists.
type ZTunnelPeerCaCrlConfig struct {
	// Enabled mounts the istio-ca-crl ConfigMap and checks peer certificates against it.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// ZTunnelStatus is the observed state of a ZTunnel.
type ZTunnelStatus struct {
	// ObservedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Reconciled and Ready.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// State summarises the conditions in one word.
	// +optional
	State LifecycleState `json:"state,omitempty"`

	// Version is the concrete version the spec's version resolved to.
	// +optional
	Version string `json:"version,omitempty"`

	// IstioRevision is the IstioRevision spec.targetRef resolved to, whose values ztunnel inherits.
	// +optional
	IstioRevision string `json:"istioRevision,omitempty"`

	// Inventory lists the objects the operator applied for ztunnel, so that objects no longer rendered are pruned
	// and nothing is left behind on deletion. Maintained by the operator.
	// +optional
	Inventory []InventoryEntry `json:"inventory,omitempty"`
}

// ZTunnel declares the ztunnel node proxy of ambient mode, which carries the traffic of ambient workloads on
// each node. There is one per cluster, named default.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=istio-io
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'default'",message="a ZTunnel must be named default: there is one ztunnel node proxy per cluster"
// +kubebuilder:printcolumn:name="Namespace",type="string",JSONPath=".spec.namespace",description="The namespace of ztunnel."
// +kubebuilder:printcolumn:name="Revision",type="string",JSONPath=".status.istioRevision",description="The IstioRevision ztunnel inherits values from."
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description="Whether ztunnel is ready on every node."
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.state",description="Summary of the conditions."
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version",description="The requested Istio version."
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type ZTunnel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:default={}
	// +optional
	Spec ZTunnelSpec `json:"spec,omitempty"`

	// +optional
	Status ZTunnelStatus `json:"status,omitempty"`
}

// ZTunnelList is a list of ZTunnel.
//
// +kubebuilder:object:root=true
type ZTunnelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ZTunnel `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ZTunnel{}, &ZTunnelList{})
}
