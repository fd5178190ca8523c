#!/usr/bin/env bash
# run.sh is `make run`: it starts a local kwok cluster (unless KUBECONFIG points at a cluster), installs Sail's
# CRDs, starts the operator in the background, applies the sample Istio and waits until it is Ready.
# `hack/run.sh down` (make cluster-down) stops the operator and deletes the local cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
STATE="${ROOT}/.cluster"
KUBECTL="${ROOT}/bin/kubectl"
mkdir -p "${STATE}"

stop_operator() {
	if [[ -f "${STATE}/operator.pid" ]]; then
		kill "$(cat "${STATE}/operator.pid")" 2>/dev/null || true
		rm -f "${STATE}/operator.pid"
	fi
}

if [[ "${1:-up}" == "down" ]]; then
	stop_operator
	if [[ -f "${STATE}/local-cluster" ]]; then
		hack/cluster.sh down
		rm -f "${STATE}/local-cluster" "${STATE}/kubeconfig-path"
	fi
	echo "Stopped the operator and deleted the local cluster."
	exit 0
fi

if [[ -z "${KUBECONFIG:-}" ]]; then
	echo "KUBECONFIG is not set: starting a local kwok cluster (bin/kwokctl) ..."
	KUBECONFIG="$(hack/cluster.sh up)"
	touch "${STATE}/local-cluster"
	echo "${KUBECONFIG}" >"${STATE}/kubeconfig-path"
else
	echo "Using the cluster of KUBECONFIG=${KUBECONFIG}"
fi
export KUBECONFIG

echo "Installing Sail's CRDs ..."
"${KUBECTL}" apply --server-side --force-conflicts -f config/crd/bases >/dev/null
"${KUBECTL}" wait --for condition=Established --timeout=60s -f config/crd/bases >/dev/null
"${KUBECTL}" get namespace istio-system >/dev/null 2>&1 || "${KUBECTL}" create namespace istio-system >/dev/null

stop_operator
echo "Starting the operator (log: .cluster/operator.log) ..."
bin/sail-operator --metrics-bind-address=0 --health-probe-bind-address=0 >"${STATE}/operator.log" 2>&1 &
echo $! >"${STATE}/operator.pid"

echo "Applying the sample Istio (config/samples/istio.yaml) ..."
"${KUBECTL}" apply -f config/samples/istio.yaml
start=$(date +%s)
if ! "${KUBECTL}" wait --for=condition=Ready istio/default --timeout=180s; then
	echo "The Istio did not become Ready. Its status and the operator's log:" >&2
	"${KUBECTL}" get istio default -o yaml >&2 || true
	tail -n 50 "${STATE}/operator.log" >&2 || true
	exit 1
fi
echo "Istio is Ready after $(($(date +%s) - start)) s."
"${KUBECTL}" get istio,istiorevision
cat <<EOT

Sail is running. Next:
  export KUBECONFIG=${KUBECONFIG}
  bin/kubectl get istio                       # the control plane and its state
  bin/kubectl get deploy,svc -n istio-system  # what the operator installed
  bin/kubectl edit istio default              # change values or spec.version and watch it reconcile
  tail -f .cluster/operator.log               # the operator's log
  make cluster-down                           # stop the operator and delete the local cluster
EOT
