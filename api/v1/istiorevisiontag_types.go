package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IstioRevisionTagKind is the kind name of IstioRevisionTag.
const IstioRevisionTagKind = "IstioRevisionTag"

// Condition reasons of IstioRevisionTags.
const (
	// ReasonRefNotFound: the tag's target (an Istio or IstioRevision) does not exist, or the Istio has no active
	// revision yet; the tag recovers when it appears.
	ReasonRefNotFound = "RefNotFound"
	// ReasonNameAlreadyExists: an older IstioRevision (or IstioRevisionTag) has the same name; the newer one
	// installs nothing.
	ReasonNameAlreadyExists = "NameAlreadyExists"
)

// IstioRevisionTagSpec is the desired state of a revision tag.
type IstioRevisionTagSpec struct {
	// TargetRef is the control plane the tag points at: an Istio (the tag follows its active revision) or an
	// IstioRevision.
	TargetRef IstioRevisionTagTargetReference `json:"targetRef"`
}

// IstioRevisionTagTargetReference names the Istio or IstioRevision a tag points at.
type IstioRevisionTagTargetReference struct {
	// Kind is Istio or IstioRevision.
	// +kubebuilder:validation:Enum=Istio;IstioRevision
	Kind string `json:"kind"`

	// Name of the Istio or IstioRevision.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// IstioRevisionTagStatus is the observed state of an IstioRevisionTag.
type IstioRevisionTagStatus struct {
	// ObservedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Reconciled and InUse.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// State summarises the conditions in one word.
	// +optional
	State LifecycleState `json:"state,omitempty"`

	// IstioRevision is the name of the IstioRevision the tag points at.
	// +optional
	IstioRevision string `json:"istioRevision,omitempty"`

	// IstiodNamespace is the namespace of the istiod the tag points at.
	// +optional
	IstiodNamespace string `json:"istiodNamespace,omitempty"`

	// Inventory lists the objects the operator applied for this tag. Maintained by the operator.
	// +optional
	Inventory []InventoryEntry `json:"inventory,omitempty"`
}

// IstioRevisionTag is an alias of a control plane revision: namespaces and pods that select the tag name
// (istio.io/rev=<tag>) are injected by the revision the tag points at, so workloads move to another revision by
// changing the tag instead of relabelling them. A tag that targets an Istio follows its active revision. The tag
// named default also serves istio-injection=enabled namespaces and Istio's default validation.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=istiorevtag,categories=istio-io
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.state",description="Summary of the conditions."
// +kubebuilder:printcolumn:name="In use",type="string",JSONPath=".status.conditions[?(@.type==\"InUse\")].status",description="Whether namespaces or pods use the tag."
// +kubebuilder:printcolumn:name="Revision",type="string",JSONPath=".status.istioRevision",description="The IstioRevision the tag points at."
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type IstioRevisionTag struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec IstioRevisionTagSpec `json:"spec,omitempty"`

	// +optional
	Status IstioRevisionTagStatus `json:"status,omitempty"`
}

// IstioRevisionTagList is a list of IstioRevisionTag.
//
// +kubebuilder:object:root=true
type IstioRevisionTagList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IstioRevisionTag `json:"items"`
}

func init() {
	SchemeBuilder.Register(&IstioRevisionTag{}, &IstioRevisionTagList{})
}
