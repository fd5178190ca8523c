#!/usr/bin/env bash
# Regenerates api/v1/values_types.go, the typed Istio Helm values, from the
# protobuf schema of Istio (operator/pkg/apis) and of istio.io/api (mesh/v1alpha1
# and what MeshConfig reaches). See hack/valuesgen for the mapping rules.
#
# The versions below are the inputs; hack/valuesgen/valuesgen_test.go reads them
# from this file to check that the generated file is up to date.
set -euo pipefail

ISTIO_MODULE=istio.io/istio
ISTIO_VERSION=v0.0.0-20260827124520-eed52ebb66ad # Istio 1.31
ISTIO_API_MODULE=istio.io/api
ISTIO_API_VERSION=v1.31.4

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# moddir MODULE VERSION prints the directory of a module in the module cache,
# downloading it first if needed.
moddir() {
	local dir
	dir=$(go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	if [[ -z "${dir}" ]]; then
		echo "gen-values.sh: cannot find the directory of $1@$2" >&2
		exit 1
	fi
	echo "${dir}"
}

istio_dir=$(moddir "${ISTIO_MODULE}" "${ISTIO_VERSION}")
api_dir=$(moddir "${ISTIO_API_MODULE}" "${ISTIO_API_VERSION}")

go run ./hack/valuesgen \
	-istio-dir "${istio_dir}" \
	-api-dir "${api_dir}" \
	-source "${ISTIO_MODULE}@${ISTIO_VERSION} ${ISTIO_API_MODULE}@${ISTIO_API_VERSION}" \
	-reserve-from api/v1 \
	-out api/v1/values_types.go
