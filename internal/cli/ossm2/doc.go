// Package ossm2 converts OpenShift Service Mesh 2 resources (ServiceMeshControlPlane, ServiceMeshMemberRoll and
// ServiceMeshMember) into Sail resources: an Istio, an IstioCNI, namespace label patches and the plain Istio and
// Kubernetes objects that replace behaviour OpenShift Service Mesh 2 had built in. Every conversion comes with a
// Report that says which input field went where, what could not be carried over (warnings) and what prevents the
// migration (blockers), each with the input path it is about.
//
// The OpenShift Service Mesh 2 types in this package are hand-written and minimal: they cover the fields the
// conversion rules know, and input is decoded strictly against them, so an unknown field is an error that names
// its path (Options.AllowUnknownFields turns such errors into warnings). Sections that are dropped as a whole
// (addons.*, policy.mixer, telemetry.mixer, cluster.meshExpansion, ...) are not looked into.
//
// Generated resources can be validated offline against the CRD schemas embedded in this package and Istio's own
// CRDs (ValidateOffline), or by a server-side dry-run with strict field validation (ValidateCluster).
package ossm2
