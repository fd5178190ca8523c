// Package v1 contains the API types of the sailoperator.io/v1 group: Istio, IstioRevision and their companions.
//
// +kubebuilder:object:generate=true
// +groupName=sailoperator.io
package v1
