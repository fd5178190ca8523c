package v1

// Condition types shared by Sail's kinds.
const (
	// ConditionReconciled tells whether the last reconcile applied the desired state without error.
	ConditionReconciled = "Reconciled"
	// ConditionReady tells whether the control plane (or node agent) is up and serving.
	ConditionReady = "Ready"
	// ConditionDependenciesHealthy tells whether what the control plane depends on (e.g. istio-cni) is healthy.
	ConditionDependenciesHealthy = "DependenciesHealthy"
	// ConditionInUse tells whether any workload, namespace or revision tag uses a revision.
	ConditionInUse = "InUse"
	// ConditionWorkloadsMigrated tells whether every workload that can move has moved to the Istio's active
	// revision (only with spec.updateStrategy.updateWorkloads).
	ConditionWorkloadsMigrated = "WorkloadsMigrated"
	// ConditionValueTagsInstalled tells whether every tag of an IstioRevision's spec.values.revisionTags has its
	// injection webhook installed (False, reason InjectionCollision, when an older IstioRevisionTag of the same
	// name, or an older Istio whose values declare the same tag, serves it). Only set on revisions whose values
	// declare tags.
	ConditionValueTagsInstalled = "ValueTagsInstalled"
	// ConditionDiscoveryOverlap is True on an Istio whose istiod discovers namespaces that an older Istio's
	// istiod discovers too, when one of the two sets spec.values.meshConfig.discoverySelectors (asked for
	// isolation); reason NamespacesShared, the message names the other Istios and the namespaces. A warning: it
	// does not hold Ready back and nothing is left uninstalled. Absent when there is no such overlap.
	ConditionDiscoveryOverlap = "DiscoveryOverlap"
)

// Condition reasons shared by Sail's kinds.
const (
	// ReasonReconcileSucceeded: the desired state was applied.
	ReasonReconcileSucceeded = "ReconcileSucceeded"
	// ReasonReconcileError: applying the desired state failed; the message says why.
	ReasonReconcileError = "ReconcileError"
	// ReasonInvalidSpec: the spec cannot be acted upon (e.g. unsupported version); the message says what to fix.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonNamespaceNotFound: the target namespace does not exist.
	ReasonNamespaceNotFound = "NamespaceNotFound"
	// ReasonNamespaceTerminating: the target namespace is being deleted.
	ReasonNamespaceTerminating = "NamespaceTerminating"
	// ReasonRenderError: Istio's charts failed to render with the given values.
	ReasonRenderError = "RenderError"
	// ReasonUpgradeRefused: the requested version change is not supported in place.
	ReasonUpgradeRefused = "UpgradeRefused"
	// ReasonDowngradeRefused: the requested version is a downgrade of a minor version or more, which Istio does
	// not support in place.
	ReasonDowngradeRefused = "DowngradeRefused"
	// ReasonVersionSkew: the requested version would put an IstioCNI or ZTunnel outside Istio's supported skew of
	// a control plane it serves (the control plane at the component's minor version or one newer).
	ReasonVersionSkew = "VersionSkew"
	// ReasonReady: every component is ready.
	ReasonReady = "Ready"
	// ReasonNotReady: a component is not ready yet; the message names it.
	ReasonNotReady = "NotReady"
	// ReasonHealthy: all dependencies are healthy.
	ReasonHealthy = "Healthy"
	// ReasonRevisionNotFound: the Istio's active IstioRevision does not exist yet.
	ReasonRevisionNotFound = "RevisionNotFound"
	// ReasonUsageUnknown: the operator does not know yet whether the revision is in use.
	ReasonUsageUnknown = "UsageUnknown"
	// ReasonOwnershipConflict: an object the resource needs (e.g. the IstioRevision named after an Istio) exists
	// and belongs to someone else; delete or rename one of them. The resource is Stalled until then.
	ReasonOwnershipConflict = "OwnershipConflict"
	// ReasonRevisionPending: the Istio's active IstioRevision has not reconciled its latest spec yet, so the
	// Istio cannot tell whether that spec was applied.
	ReasonRevisionPending = "RevisionPending"
	// ReasonInjectionCollision: another, older control plane claims the same injection selector (an
	// IstioRevisionTag and a tag of some revision's spec.values.revisionTags of the same name, or two Istios'
	// spec.values.revisionTags declaring the same tag); the newer claim's
	// webhook is not installed until one of them changes. The message names the other resource.
	ReasonInjectionCollision = "InjectionCollision"
	// ReasonNamespacesShared: the Istio's istiod discovers namespaces an older Istio's istiod discovers too,
	// although one of them asked for isolation with discoverySelectors (see ConditionDiscoveryOverlap).
	ReasonNamespacesShared = "NamespacesShared"
	// ReasonRemoteControlPlaneNotServing: a remote revision (the remote profile: no istiod of its own) is not
	// served by a primary control plane yet, as this cluster's API server shows it: the injection webhook has no
	// caBundle (the primary does not read this cluster), or calling it fails (the primary's address is
	// unreachable). The message says which and what to check.
	ReasonRemoteControlPlaneNotServing = "RemoteControlPlaneNotServing"
)

// LifecycleState summarises the conditions of a resource in one word for `kubectl get`.
// +kubebuilder:validation:Enum=Healthy;NotReady;ReconcileError;Pending
type LifecycleState string

// Lifecycle states.
const (
	// StateHealthy: reconciled and ready.
	StateHealthy LifecycleState = "Healthy"
	// StateNotReady: reconciled, not ready yet.
	StateNotReady LifecycleState = "NotReady"
	// StateReconcileError: the last reconcile failed.
	StateReconcileError LifecycleState = "ReconcileError"
	// StatePending: not reconciled yet.
	StatePending LifecycleState = "Pending"
)
