package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IstioKind is the kind name of Istio.
const IstioKind = "Istio"

// Update strategy types.
const (
	// UpdateStrategyInPlace upgrades the single IstioRevision (named after the Istio) in place.
	UpdateStrategyInPlace = "InPlace"
	// UpdateStrategyRevisionBased creates a new IstioRevision per version and retires the old one when unused.
	UpdateStrategyRevisionBased = "RevisionBased"
)

// IstioSpec is the desired state of an Istio control plane.
// +kubebuilder:validation:XValidation:rule="!has(self.values) || !has(self.values.global) || !has(self.values.global.istioNamespace) || self.values.global.istioNamespace == self.namespace",message="spec.values.global.istioNamespace must be empty or equal to spec.namespace"
type IstioSpec struct {
	// Version of Istio to install: a supported version such as v1.31.0, or an alias such as v1.31-latest or
	// latest, which follows new Sail releases. Defaults to the newest supported version.
	// sail:versions-enum
	// +kubebuilder:validation:Enum=v1.31.0;v1.30.0;latest;v1.31-latest;v1.30-latest
	// sail:versions-default
	// +kubebuilder:default=v1.31.0
	// +optional
	Version string `json:"version,omitempty"`

	// UpdateStrategy says how the control plane moves to a new version or new values.
	// +kubebuilder:default={type: InPlace}
	// +optional
	UpdateStrategy *IstioUpdateStrategy `json:"updateStrategy,omitempty"`

	// Profile is a built-in set of Helm values applied under spec.values: ambient, default, demo, empty,
	// openshift, openshift-ambient, preview, remote or stable. When empty the default profile is used (and the
	// platform's profile on OpenShift).
	// +kubebuilder:validation:Enum=ambient;default;demo;empty;openshift;openshift-ambient;preview;remote;stable
	// +optional
	Profile string `json:"profile,omitempty"`

	// Namespace the control plane is installed in. It must exist. Immutable.
	// +kubebuilder:default=istio-system
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.namespace is immutable; create a new Istio to move the control plane"
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Values are Istio's own Helm values for the control plane (the istiod and base charts).
	// +optional
	Values *Values `json:"values,omitempty"`
}

// IstioUpdateStrategy says how an Istio moves to a new version or new values.
type IstioUpdateStrategy struct {
	// Type is InPlace (one revision, upgraded in place) or RevisionBased (a new revision per version; the old
	// one is deleted once unused).
	// +kubebuilder:validation:Enum=InPlace;RevisionBased
	// +kubebuilder:default=InPlace
	// +optional
	Type string `json:"type,omitempty"`

	// InactiveRevisionDeletionGracePeriodSeconds is how long a revision that is neither active nor in use is kept
	// before it is deleted.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=0
	// +optional
	InactiveRevisionDeletionGracePeriodSeconds *int64 `json:"inactiveRevisionDeletionGracePeriodSeconds,omitempty"`

	// UpdateWorkloads, when true, moves workloads to the new revision once it is ready (RevisionBased only):
	// namespaces are relabelled and the workloads restarted in batches.
	// +optional
	UpdateWorkloads bool `json:"updateWorkloads,omitempty"`
}

// IstioStatus is the observed state of an Istio.
type IstioStatus struct {
	// ObservedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Reconciled, Ready and DependenciesHealthy.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// State summarises the conditions in one word.
	// +optional
	State LifecycleState `json:"state,omitempty"`

	// ActiveRevisionName is the IstioRevision that serves new workloads.
	// +optional
	ActiveRevisionName string `json:"activeRevisionName,omitempty"`

	// Version is the concrete version the spec's version resolved to.
	// +optional
	Version string `json:"version,omitempty"`

	// Revisions counts the Istio's revisions.
	// +optional
	Revisions RevisionSummary `json:"revisions,omitempty"`
}

// RevisionSummary counts an Istio's IstioRevisions.
type RevisionSummary struct {
	// Total number of revisions.
	// +optional
	Total int32 `json:"total"`
	// Ready is the number of revisions whose Ready condition is True.
	// +optional
	Ready int32 `json:"ready"`
	// InUse is the number of revisions used by workloads, namespaces or tags.
	// +optional
	InUse int32 `json:"inUse"`
}

// Istio declares an Istio control plane: its version, profile, namespace and Helm values. The operator keeps one
// or more IstioRevisions for it and reports their state here.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=istio-io
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Namespace",type="string",JSONPath=".spec.namespace",description="The namespace of the control plane."
// +kubebuilder:printcolumn:name="Profile",type="string",JSONPath=".spec.profile",description="The profile applied under the values."
// +kubebuilder:printcolumn:name="Revisions",type="integer",JSONPath=".status.revisions.total",description="Total number of IstioRevisions."
// +kubebuilder:printcolumn:name="Ready",type="integer",JSONPath=".status.revisions.ready",description="Number of ready IstioRevisions."
// +kubebuilder:printcolumn:name="In use",type="integer",JSONPath=".status.revisions.inUse",description="Number of IstioRevisions in use."
// +kubebuilder:printcolumn:name="Active Revision",type="string",JSONPath=".status.activeRevisionName",description="The revision that serves new workloads."
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.state",description="Summary of the conditions."
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version",description="The requested Istio version."
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type Istio struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:default={}
	// +optional
	Spec IstioSpec `json:"spec,omitempty"`

	// +optional
	Status IstioStatus `json:"status,omitempty"`
}

// IstioList is a list of Istio.
//
// +kubebuilder:object:root=true
type IstioList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Istio `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Istio{}, &IstioList{})
}
