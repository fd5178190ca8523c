// Package ossm2 converts OpenShift Service Mesh 2 resources (ServiceMeshControlPlane, ServiceMeshMemberRoll and
// ServiceMeshMember) into Sail resources: an Istio, an IstioCNI, namespace label patches and the plain Istio and
// Kubernetes objects that replace behaviour OpenShift Service Mesh 2 had built in. Every conversion comes with a
// Report that says which input field went where, what could not be carried over (warnings) and what prevents the
// migration (blockers), each with the input path it is about.
//
// This package is the entry point sailctl migrate uses; the work is done by its sub-packages, one job each:
//
//	input      reads the resources (files, standard input, a cluster) and decodes them strictly into the
//	           OpenShift Service Mesh 2 types, so that an unknown field is an error that names its path
//	           (Options.AllowUnknownFields turns such errors into warnings)
//	convert    the conversion rules, one converter per section of the ServiceMeshControlPlane
//	validate   validates the generated resources offline (CRD schemas and Go types) or by a server-side dry-run
//	report     findings, carried-over fields, validation results, exit codes; text and JSON output
//	resource   the generated objects and how they are written out
//	strict     strict decoding of JSON trees into Go types, with the path of every problem
//	fieldpath  paths of fields inside objects (spec.proxy.adminPort)
package ossm2
