package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IstioCNIKind is the kind name of IstioCNI.
const IstioCNIKind = "IstioCNI"

// IstioCNIName is the only name an IstioCNI may have: there is one istio-cni node agent per cluster.
const IstioCNIName = "default"

// Condition reasons of an IstioRevision's DependenciesHealthy condition about istio-cni.
const (
	// ReasonIstioCNINotFound: the revision needs the istio-cni node agent and no IstioCNI exists.
	ReasonIstioCNINotFound = "IstioCNINotFound"
	// ReasonIstioCNINotHealthy: the revision needs the istio-cni node agent and the IstioCNI is not ready.
	ReasonIstioCNINotHealthy = "IstioCNINotHealthy"
)

// IstioCNISpec is the desired state of the istio-cni node agent.
type IstioCNISpec struct {
	// Version of Istio's cni chart to install: a supported version such as v1.31.0, or an alias such as
	// v1.31-latest or latest. Defaults to the newest supported version.
	// sail:versions-enum
	// +kubebuilder:validation:Enum=v1.31.0;v1.30.0;latest;v1.31-latest;v1.30-latest
	// sail:versions-default
	// +kubebuilder:default=v1.31.0
	// +optional
	Version string `json:"version,omitempty"`

	// Profile is a built-in set of Helm values applied under spec.values: ambient, default, demo, empty,
	// openshift, openshift-ambient, preview, remote or stable. When empty the default profile is used (and the
	// platform's profile on OpenShift). Use ambient (or openshift-ambient) for ambient mode.
	// +kubebuilder:validation:Enum=ambient;default;demo;empty;openshift;openshift-ambient;preview;remote;stable
	// +optional
	Profile string `json:"profile,omitempty"`

	// Namespace the istio-cni DaemonSet is installed in. It must exist. Immutable.
	// +kubebuilder:default=istio-cni
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.namespace is immutable; delete the IstioCNI and create it again to move it"
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Values are Helm values of Istio's cni chart.
	// +optional
	Values *CNIValues `json:"values,omitempty"`
}

// CNIValues are the Helm values of Istio's cni chart that Sail lets users set.
type CNIValues struct {
	// Cni configures the istio-cni node agent.
	// +optional
	Cni *CNIConfig `json:"cni,omitempty"`

	// Global holds settings shared by Istio's components (image hub, tag and variant, logging, platform, ...).
	// +optional
	Global *GlobalConfig `json:"global,omitempty"`
}

// IstioCNIStatus is the observed state of an IstioCNI.
type IstioCNIStatus struct {
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

	// Inventory lists the objects the operator applied for the istio-cni node agent, so that objects no longer
	// rendered are pruned and nothing is left behind on deletion. Maintained by the operator.
	// +optional
	Inventory []InventoryEntry `json:"inventory,omitempty"`
}

// IstioCNI declares the istio-cni node agent, which sets up traffic redirection for pods on each node: needed by
// ambient mode, and by sidecars on platforms that do not allow privileged init containers (OpenShift). There is
// one per cluster, named default.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=istio-io
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'default'",message="an IstioCNI must be named default: there is one istio-cni node agent per cluster"
// +kubebuilder:printcolumn:name="Namespace",type="string",JSONPath=".spec.namespace",description="The namespace of the istio-cni node agent."
// +kubebuilder:printcolumn:name="Profile",type="string",JSONPath=".spec.profile",description="The profile applied under the values."
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description="Whether the node agent is ready on every node."
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.state",description="Summary of the conditions."
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version",description="The requested Istio version."
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type IstioCNI struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:default={}
	// +optional
	Spec IstioCNISpec `json:"spec,omitempty"`

	// +optional
	Status IstioCNIStatus `json:"status,omitempty"`
}

// IstioCNIList is a list of IstioCNI.
//
// +kubebuilder:object:root=true
type IstioCNIList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IstioCNI `json:"items"`
}

func init() {
	SchemeBuilder.Register(&IstioCNI{}, &IstioCNIList{})
}
