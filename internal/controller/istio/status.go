package istio

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/discovery"
	"github.com/sail-mesh/sail/internal/mesh/workloads"
	"github.com/sail-mesh/sail/internal/pipeline/status"
)

// outcome is what one reconcile of an Istio did and found; setStatus computes the Istio's status from it alone.
type outcome struct {
	// version is the resolved spec.version, "" when it did not resolve.
	version string
	// active names the active revision, "" when the version did not resolve.
	active string
	// revisions are the Istio's revisions, the one this reconcile wrote included.
	revisions []sailv1.IstioRevision
	// err is what failed while reconciling the control plane, and reason the Reconciled reason it gives.
	err    error
	reason string
	// migration is what the workload migration step returned; nil when it did not run.
	migration *workloads.Result
	// migrationErr is the migration step's error, reported in WorkloadsMigrated rather than in Reconciled.
	migrationErr error
	// defaultTag is the DefaultTagReconciled condition; nil when the Istio manages no default tag and none
	// failed. defaultTagErr is why the managed default tag could not be reconciled.
	defaultTag    *metav1.Condition
	defaultTagErr error
	// pruned tells that inactive revisions were pruned (the change reached the active revision); pruneErr is
	// what failed then. Both are reported in RevisionsMaintained, not in Reconciled.
	pruned   bool
	pruneErr error
	// kept says, for each inactive revision due for deletion but kept for remote clusters, why.
	kept []string
	// network is the NetworkConsistent condition, nil when the Istio names no network; networkErr is why its
	// namespace could not be read (the condition is then left as it is).
	network    *metav1.Condition
	networkErr error
	// overlaps are the older Istios that discover the same namespaces (DiscoveryOverlap); overlapsKnown tells
	// they were computed, overlapErr why not. isolated tells that this Istio sets discoverySelectors.
	overlaps      []discovery.Overlap
	overlapsKnown bool
	overlapErr    error
	isolated      bool
}

// fail records a failure of the control plane's reconcile; the first failure's reason is the one reported.
func (o *outcome) fail(reason string, err error) {
	switch {
	case err == nil:
	case o.err == nil:
		o.err, o.reason = err, reason
	default:
		o.err = errors.Join(o.err, err)
	}
}

// setStatus computes the Istio's status from what a reconcile did: one setter per field or condition, then the
// summary, which derives Ready and the kstatus conditions.
func setStatus(st *sailv1.IstioStatus, gen int64, out outcome) {
	active := findRevision(out.revisions, out.active)
	setVersion(st, out.version)
	setWorkloadMigration(st, out.migration)
	setWorkloadsMigratedCondition(st, gen, out.migration)
	setRevisionCounts(st, out.revisions)
	setActiveRevisionName(st, active)
	setReconciledCondition(st, gen, active, out.reason, out.err)
	setDependenciesHealthyCondition(st, gen, active)
	setValueTagsCondition(st, gen, active)
	setDefaultTagCondition(st, gen, out.defaultTag)
	setRevisionsMaintainedCondition(st, gen, out.pruned, out.kept, out.pruneErr)
	setNetworkCondition(st, gen, out.network, out.networkErr)
	setDiscoveryOverlapCondition(st, gen, out.isolated, out.overlapsKnown, out.overlaps)
	st.ObservedGeneration = gen
	summarize(st, gen, active, out.err)
}

// findRevision returns the revision called name, nil when there is none.
func findRevision(revs []sailv1.IstioRevision, name string) *sailv1.IstioRevision {
	for i := range revs {
		if revs[i].Name == name {
			return &revs[i]
		}
	}
	return nil
}

// setVersion records the resolved version; one that did not resolve leaves the last one.
func setVersion(st *sailv1.IstioStatus, version string) {
	if version != "" {
		st.Version = version
	}
}

// setWorkloadMigration writes status.workloadMigration from the migration step; a reconcile that did not step
// the migration leaves it as it is.
func setWorkloadMigration(st *sailv1.IstioStatus, mig *workloads.Result) {
	if mig != nil {
		st.WorkloadMigration = mig.Progress
	}
}

// setWorkloadsMigratedCondition writes the WorkloadsMigrated condition from the migration step: removed when no
// migration applies, left as it is when the step did not run or had nothing new to say.
func setWorkloadsMigratedCondition(st *sailv1.IstioStatus, gen int64, mig *workloads.Result) {
	switch {
	case mig == nil:
	case mig.State == workloads.StateDisabled:
		meta.RemoveStatusCondition(&st.Conditions, sailv1.ConditionWorkloadsMigrated)
	case mig.Condition != nil:
		c := mig.Condition
		status.Set(&st.Conditions, gen, sailv1.ConditionWorkloadsMigrated, c.Status, c.Reason, c.Message)
	}
}

// setRevisionCounts counts the Istio's revisions, the Ready ones, and those in use (or whose use is unknown).
func setRevisionCounts(st *sailv1.IstioStatus, revs []sailv1.IstioRevision) {
	st.Revisions = sailv1.RevisionSummary{Total: int32(len(revs))}
	for i := range revs {
		if status.True(revs[i].Status.Conditions, sailv1.ConditionReady) {
			st.Revisions.Ready++
		}
		if !meta.IsStatusConditionFalse(revs[i].Status.Conditions, sailv1.ConditionInUse) {
			st.Revisions.InUse++
		}
	}
}

// setActiveRevisionName names the active revision once it exists; until then the last one stays.
func setActiveRevisionName(st *sailv1.IstioStatus, active *sailv1.IstioRevision) {
	if active != nil {
		st.ActiveRevisionName = active.Name
	}
}

// setReconciledCondition reports the reconcile's failure, else mirrors the active revision's Reconciled.
func setReconciledCondition(st *sailv1.IstioStatus, gen int64, active *sailv1.IstioRevision, reason string, err error) {
	set(st, gen, reconciledCondition(active, reason, err))
}

func reconciledCondition(active *sailv1.IstioRevision, reason string, err error) metav1.Condition {
	switch {
	case err != nil:
		return cond(sailv1.ConditionReconciled, metav1.ConditionFalse, reason, err.Error())
	case active == nil:
		return cond(sailv1.ConditionReconciled, metav1.ConditionFalse, sailv1.ReasonRevisionNotFound, msgRevisionNotFound)
	case active.Status.ObservedGeneration != active.Generation:
		// The revision's Reconciled describes an older spec: it must not be reported as this Istio generation's.
		return cond(sailv1.ConditionReconciled, metav1.ConditionUnknown, sailv1.ReasonRevisionPending, fmt.Sprintf(
			"IstioRevision %s has not reconciled its latest spec yet; its Reconciled condition describes an older one.", active.Name))
	}
	return mirrored(active, sailv1.ConditionReconciled, "The active IstioRevision has not been reconciled yet.")
}

// setDependenciesHealthyCondition mirrors the active revision's DependenciesHealthy (Unknown without one).
func setDependenciesHealthyCondition(st *sailv1.IstioStatus, gen int64, active *sailv1.IstioRevision) {
	set(st, gen, dependenciesHealthyCondition(active))
}

func dependenciesHealthyCondition(active *sailv1.IstioRevision) metav1.Condition {
	if active == nil {
		return cond(sailv1.ConditionDependenciesHealthy, metav1.ConditionUnknown, sailv1.ReasonRevisionNotFound, msgRevisionNotFound)
	}
	return mirrored(active, sailv1.ConditionDependenciesHealthy, "The active IstioRevision has not reported its dependencies yet.")
}

// setValueTagsCondition mirrors the active revision's ValueTagsInstalled (whether every tag of
// spec.values.revisionTags is installed, or which an older IstioRevisionTag serves), removed when it has none.
func setValueTagsCondition(st *sailv1.IstioStatus, gen int64, active *sailv1.IstioRevision) {
	var c *metav1.Condition
	if active != nil {
		c = meta.FindStatusCondition(active.Status.Conditions, sailv1.ConditionValueTagsInstalled)
	}
	if c == nil {
		meta.RemoveStatusCondition(&st.Conditions, sailv1.ConditionValueTagsInstalled)
		return
	}
	set(st, gen, cond(c.Type, c.Status, c.Reason, c.Message))
}

// setDefaultTagCondition writes DefaultTagReconciled, or removes it when the Istio manages no default tag.
func setDefaultTagCondition(st *sailv1.IstioStatus, gen int64, c *metav1.Condition) {
	if c == nil {
		meta.RemoveStatusCondition(&st.Conditions, sailv1.ConditionDefaultTagReconciled)
		return
	}
	set(st, gen, *c)
}

// setRevisionsMaintainedCondition writes RevisionsMaintained from the pruning of inactive revisions; a reconcile
// that did not prune (its change did not reach the active revision) leaves it as it is.
func setRevisionsMaintainedCondition(st *sailv1.IstioStatus, gen int64, pruned bool, kept []string, err error) {
	const policy = "Inactive revisions are deleted once unused for the grace period."
	switch {
	case !pruned:
	case err != nil:
		set(st, gen, cond(sailv1.ConditionRevisionsMaintained, metav1.ConditionFalse, sailv1.ReasonPruneError,
			err.Error()+"; retrying. The active revision serves meanwhile, and the inactive one is kept."))
	case len(kept) > 0:
		set(st, gen, cond(sailv1.ConditionRevisionsMaintained, metav1.ConditionTrue, sailv1.ReasonKeptForRemoteClusters,
			policy+" Kept for remote clusters: "+strings.Join(kept, "; ")+"."))
	default:
		set(st, gen, cond(sailv1.ConditionRevisionsMaintained, metav1.ConditionTrue, sailv1.ReasonRevisionsMaintained,
			policy))
	}
}

const msgRevisionNotFound = "The active IstioRevision does not exist yet."

// summarize derives the Istio's summary in one place: Ready from readyGates, then kstatus' Reconciling and
// Stalled from Reconciled and Ready, then the one-word state.
func summarize(st *sailv1.IstioStatus, gen int64, active *sailv1.IstioRevision, reconcileErr error) {
	setReadyCondition(st, gen, active, reconcileErr)
	setKstatusConditions(st, gen)
	setState(st)
}

// readyGate is one thing the Istio's readiness depends on; when it holds readiness back, it returns the Ready
// condition that says why.
type readyGate func(active *sailv1.IstioRevision, reconcileErr error) *metav1.Condition

// readyGates are what the Ready condition summarizes, first one first; when none holds readiness back, Ready
// mirrors the active revision's.
var readyGates = []readyGate{reconcileFailed, revisionMissing, revisionBehindSpec}

// reconcileFailed holds readiness back while the last reconcile failed.
func reconcileFailed(_ *sailv1.IstioRevision, err error) *metav1.Condition {
	return notReadyIf(err != nil, sailv1.ReasonNotReady,
		"The control plane is not ready because the last reconcile failed; see the Reconciled condition.")
}

// revisionMissing holds readiness back until the active revision exists.
func revisionMissing(active *sailv1.IstioRevision, _ error) *metav1.Condition {
	return notReadyIf(active == nil, sailv1.ReasonRevisionNotFound, msgRevisionNotFound)
}

// revisionBehindSpec holds readiness back until the active revision (which exists: revisionMissing comes first)
// has applied its latest spec, so that the Istio never reports the readiness of an older generation.
func revisionBehindSpec(active *sailv1.IstioRevision, _ error) *metav1.Condition {
	return notReadyIf(active.Status.ObservedGeneration != active.Generation, sailv1.ReasonNotReady,
		"The active IstioRevision has not applied its latest spec yet.")
}

func notReadyIf(held bool, reason, msg string) *metav1.Condition {
	if !held {
		return nil
	}
	c := cond(sailv1.ConditionReady, metav1.ConditionFalse, reason, msg)
	return &c
}

// setReadyCondition sets Ready from the first of readyGates that holds readiness back, else from the active
// revision's Ready.
func setReadyCondition(st *sailv1.IstioStatus, gen int64, active *sailv1.IstioRevision, reconcileErr error) {
	set(st, gen, readyCondition(active, reconcileErr))
}

func readyCondition(active *sailv1.IstioRevision, reconcileErr error) metav1.Condition {
	for _, gate := range readyGates {
		if c := gate(active, reconcileErr); c != nil {
			return *c
		}
	}
	return mirrored(active, sailv1.ConditionReady, "The active IstioRevision has not reported readiness yet.")
}

// setKstatusConditions derives Reconciling and Stalled from Reconciled and Ready.
func setKstatusConditions(st *sailv1.IstioStatus, gen int64) {
	status.SetKstatus(&st.Conditions, gen)
}

// setState sums Reconciled and Ready up in status.state.
func setState(st *sailv1.IstioStatus) {
	st.State = status.State(st.Conditions)
}

// mirrored is the revision's condition of type condType, or Unknown with the message missing when it lacks one.
func mirrored(rev *sailv1.IstioRevision, condType, missing string) metav1.Condition {
	c := meta.FindStatusCondition(rev.Status.Conditions, condType)
	if c == nil {
		return cond(condType, metav1.ConditionUnknown, sailv1.ReasonNotReady, missing)
	}
	return cond(condType, c.Status, c.Reason, c.Message)
}

func cond(condType string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: condType, Status: s, Reason: reason, Message: msg}
}

// set writes a condition of the given generation into the Istio's conditions.
func set(st *sailv1.IstioStatus, gen int64, c metav1.Condition) {
	status.Set(&st.Conditions, gen, c.Type, c.Status, c.Reason, c.Message)
}
