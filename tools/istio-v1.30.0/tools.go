//go:build tools

// Package tools pins istiod (pilot-discovery) and istioctl of Istio 1.30.0 for the tests that run the real Istio.
package tools

import (
	_ "istio.io/istio/istioctl/cmd/istioctl"
	_ "istio.io/istio/pilot/cmd/pilot-discovery"
)
