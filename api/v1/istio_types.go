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

// ConditionDefaultTagReconciled reports, on a RevisionBased Istio named default, whether its IstioRevisionTag
// default (which serves namespaces labelled istio-injection=enabled or istio.io/rev=default) is reconciled: it
// mirrors the tag's Reconciled condition, e.g. WaitingForRevision while the tag waits for the new revision to be
// Ready before it takes those namespaces over from the InPlace revision named default.
const ConditionDefaultTagReconciled = "DefaultTagReconciled"

// ConditionRevisionsMaintained reports whether the Istio's housekeeping of its inactive revisions (marking when
// they became inactive, deleting them once unused for the grace period) succeeded. It does not hold Ready back:
// a failure to retire an old revision does not stop the active one from serving.
const ConditionRevisionsMaintained = "RevisionsMaintained"

// ConditionNetworkConsistent reports, on an Istio whose spec.values.global.network is set or whose namespace is
// labelled topology.istio.io/network, whether both name the same network. istiod takes the network of its
// cluster's endpoints from the label, the injected sidecars take theirs from the value: when they differ,
// traffic across networks is routed by the wrong network. It does not hold Ready back. An Istio with neither has
// no such condition, nor has one whose namespace has no label while spec.values.global.meshNetworks is set.
const ConditionNetworkConsistent = "NetworkConsistent"

// Reasons of the Istio's NetworkConsistent condition.
const (
	// ReasonNetworkConsistent: spec.values.global.network and the namespace's network label agree.
	ReasonNetworkConsistent = "NetworkConsistent"
	// ReasonNetworkMismatch: they differ, or only one of them is set; the message says which to change.
	ReasonNetworkMismatch = "NetworkMismatch"
)

// Reasons of the Istio's RevisionsMaintained and DefaultTagReconciled conditions.
const (
	// ReasonRevisionsMaintained: every inactive revision that is due was pruned, the others are kept on purpose.
	ReasonRevisionsMaintained = "RevisionsMaintained"
	// ReasonKeptForRemoteClusters: an inactive revision that is unused here and due for deletion is kept because a
	// remote cluster (read through a remote secret of the control plane's namespace) uses it or cannot tell.
	ReasonKeptForRemoteClusters = "KeptForRemoteClusters"
	// ReasonPruneError: marking or deleting an inactive revision failed; the message says why. Retried.
	ReasonPruneError = "PruneError"
	// ReasonDefaultTagError: creating, deleting or reading the managed IstioRevisionTag default failed; the
	// message says why. Retried.
	ReasonDefaultTagError = "DefaultTagError"
)

// Reasons of the Istio's WorkloadsMigrated condition (WaitingForRevision also of DefaultTagReconciled).
const (
	// ReasonWaitingForRevision: the active revision is not Ready yet, so no workload is moved.
	ReasonWaitingForRevision = "WaitingForRevision"
	// ReasonMigrationInProgress: workloads are being restarted onto the active revision in batches.
	ReasonMigrationInProgress = "MigrationInProgress"
	// ReasonBatchTimedOut: a batch did not finish rolling out in time; no further batch starts until it does.
	ReasonBatchTimedOut = "BatchTimedOut"
	// ReasonMigrationError: reading or restarting workloads failed; the message says why.
	ReasonMigrationError = "MigrationError"
	// ReasonWorkloadsMigrated: no workload that Sail may restart runs an older revision.
	ReasonWorkloadsMigrated = "WorkloadsMigrated"
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
// +kubebuilder:validation:XValidation:rule="!has(self.updateWorkloads) || !self.updateWorkloads || (has(self.type) && self.type == 'RevisionBased')",message="updateWorkloads needs type RevisionBased: with InPlace there is no new revision to move workloads to; set type: RevisionBased or updateWorkloads: false"
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

	// UpdateWorkloads, when true, moves workloads to the new revision once it is Ready (RevisionBased only):
	// namespaces labelled istio.io/rev=<old revision> are relabelled, then the Deployments, StatefulSets and
	// DaemonSets whose pods still run an old revision of this Istio are restarted in batches.
	// +optional
	UpdateWorkloads bool `json:"updateWorkloads,omitempty"`

	// WorkloadMigration tunes how workloads are moved when updateWorkloads is true.
	// +kubebuilder:default={}
	// +optional
	WorkloadMigration *WorkloadMigrationConfig `json:"workloadMigration,omitempty"`
}

// WorkloadMigrationConfig tunes the batched restarts of workloads onto a new revision.
type WorkloadMigrationConfig struct {
	// BatchSize is how many workloads are restarted at once.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +optional
	BatchSize *int32 `json:"batchSize,omitempty"`

	// DelayBetweenBatchesSeconds is the pause between a batch having rolled out and the next batch starting.
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +optional
	DelayBetweenBatchesSeconds *int32 `json:"delayBetweenBatchesSeconds,omitempty"`

	// BatchTimeoutSeconds is how long a batch may take to roll out. When it passes, migration stops (no further
	// batch starts) and the Istio's WorkloadsMigrated condition names the workloads that are not ready; it goes on
	// by itself once they are.
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	// +optional
	BatchTimeoutSeconds *int32 `json:"batchTimeoutSeconds,omitempty"`
}

// IstioStatus is the observed state of an Istio.
type IstioStatus struct {
	// ObservedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Reconciled, Ready, DependenciesHealthy and, with updateWorkloads, WorkloadsMigrated.
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

	// WorkloadMigration reports the move of workloads to the active revision (updateStrategy.updateWorkloads).
	// +optional
	WorkloadMigration *WorkloadMigrationStatus `json:"workloadMigration,omitempty"`
}

// WorkloadMigrationStatus reports the progress of moving workloads onto the active revision.
//
// Its fields are not omitempty on purpose: the Istio's status is written as a JSON merge patch, in which a field
// that was emptied must be sent as null to be removed.
type WorkloadMigrationStatus struct {
	// TargetRevision is the revision workloads are moved to.
	// +optional
	TargetRevision string `json:"targetRevision"`
	// Migrated counts the workloads restarted onto the target revision whose rollout finished.
	// +optional
	Migrated int32 `json:"migrated"`
	// Remaining counts the workloads that still run an older revision of this Istio and will be restarted,
	// including the current batch.
	// +optional
	Remaining int32 `json:"remaining"`
	// Skipped counts the workloads (or bare pods) on an older revision that Sail leaves alone: injection disabled,
	// namespace opted out, pinned to the old revision by their own istio.io/rev label or by a tag, or pods not
	// owned by a Deployment, StatefulSet or DaemonSet. The WorkloadsMigrated condition names a few of them.
	// +optional
	Skipped int32 `json:"skipped"`
	// Batch lists the workloads of the batch being rolled out.
	// +listType=atomic
	// +optional
	Batch []WorkloadReference `json:"batch"`
	// BatchStartTime is when the current batch was restarted.
	// +optional
	BatchStartTime *metav1.Time `json:"batchStartTime"`
	// LastBatchCompletionTime is when the last batch finished rolling out.
	// +optional
	LastBatchCompletionTime *metav1.Time `json:"lastBatchCompletionTime"`
}

// WorkloadReference names a Deployment, StatefulSet or DaemonSet.
type WorkloadReference struct {
	// Kind is Deployment, StatefulSet or DaemonSet.
	Kind string `json:"kind"`
	// Namespace of the workload.
	Namespace string `json:"namespace"`
	// Name of the workload.
	Name string `json:"name"`
}

// String returns Kind namespace/name.
func (w WorkloadReference) String() string { return w.Kind + " " + w.Namespace + "/" + w.Name }

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
