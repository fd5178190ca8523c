package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IstioRevisionKind is the kind name of IstioRevision.
const IstioRevisionKind = "IstioRevision"

// ConditionIstioCRDs on an IstioRevision says whether Istio's CRDs serve the revision's version, when the operator
// manages them: True with ReasonCRDsInstalled when they are the revision's version's or newer, True with
// ReasonCRDsKeptNewer when some come from a newer Istio version (Sail, Helm or istioctl installed them) and were
// left as they are, since Istio's CRDs are never downgraded; True with ReasonCRDsNotNeeded for an external istiod.
const ConditionIstioCRDs = "IstioCRDs"

// Reasons of ConditionIstioCRDs.
const (
	// ReasonCRDsInstalled: Istio's CRDs are the revision's version's, or newer ones Sail installed.
	ReasonCRDsInstalled = "CRDsInstalled"
	// ReasonCRDsKeptNewer: some of Istio's CRDs come from a newer Istio version and were not downgraded.
	ReasonCRDsKeptNewer = "CRDsKeptNewer"
	// ReasonCRDsNotNeeded: the revision is an external istiod (values.global.externalIstiod), which reads Istio's
	// configuration from its config cluster; Istio's CRDs are installed there, not here.
	ReasonCRDsNotNeeded = "CRDsNotNeeded"
)

// DefaultRevision is the name of the revision that serves namespaces labelled istio-injection=enabled and that
// carries the cluster-wide objects of Istio's base chart.
const DefaultRevision = "default"

// IstioRevisionSpec is the desired state of one control plane revision. The operator fills it from an Istio:
// the version is concrete and the values are fully merged (profiles, user values, operator overrides).
// +kubebuilder:validation:XValidation:rule="!has(self.values) || !has(self.values.global) || !has(self.values.global.istioNamespace) || self.values.global.istioNamespace == self.namespace",message="spec.values.global.istioNamespace must be empty or equal to spec.namespace"
type IstioRevisionSpec struct {
	// Version is the concrete Istio version of the revision (aliases are not allowed here).
	// sail:versions-enum-concrete
	// +kubebuilder:validation:Enum=v1.31.0;v1.30.0
	Version string `json:"version"`

	// Namespace the revision's istiod runs in. Immutable.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.namespace is immutable"
	Namespace string `json:"namespace"`

	// Values are the complete Helm values the revision's charts are rendered with.
	// +optional
	Values *Values `json:"values,omitempty"`
}

// IstioRevisionStatus is the observed state of an IstioRevision.
type IstioRevisionStatus struct {
	// ObservedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Reconciled, Ready, DependenciesHealthy, InUse and IstioCRDs.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// State summarises the conditions in one word.
	// +optional
	State LifecycleState `json:"state,omitempty"`

	// ReadyVersion is the spec.version the revision was last Ready with: the version its istiod has rolled out.
	// An in-place change of more than one minor version from it is refused.
	// +optional
	ReadyVersion string `json:"readyVersion,omitempty"`

	// Inventory lists the objects the operator applied for this revision, so that objects no longer rendered are
	// pruned and nothing is left behind when the revision is deleted. Maintained by the operator.
	// +optional
	Inventory []InventoryEntry `json:"inventory,omitempty"`
}

// InventoryEntry records one applied object.
type InventoryEntry struct {
	// ID is namespace_name_group_kind (namespace empty for cluster-scoped objects).
	ID string `json:"id"`
	// Version is the API version the object was applied with.
	Version string `json:"v"`
}

// IstioRevision is one revision of an Istio control plane (one istiod Deployment and its objects). The operator
// creates and deletes IstioRevisions for each Istio; users normally do not write them.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=istiorev,categories=istio-io
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'default' ? (!has(self.spec.values) || !has(self.spec.values.revision) || size(self.spec.values.revision) == 0) : (has(self.spec.values) && has(self.spec.values.revision) && self.spec.values.revision == self.metadata.name)",message="spec.values.revision must match metadata.name (and be empty for the revision named default)"
// +kubebuilder:printcolumn:name="Namespace",type="string",JSONPath=".spec.namespace",description="The namespace of the control plane."
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description="Whether the control plane is ready."
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.state",description="Summary of the conditions."
// +kubebuilder:printcolumn:name="In use",type="string",JSONPath=".status.conditions[?(@.type==\"InUse\")].status",description="Whether workloads use the revision."
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version",description="The Istio version."
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type IstioRevision struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec IstioRevisionSpec `json:"spec,omitempty"`

	// +optional
	Status IstioRevisionStatus `json:"status,omitempty"`
}

// IstioRevisionList is a list of IstioRevision.
//
// +kubebuilder:object:root=true
type IstioRevisionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IstioRevision `json:"items"`
}

func init() {
	SchemeBuilder.Register(&IstioRevision{}, &IstioRevisionList{})
}
