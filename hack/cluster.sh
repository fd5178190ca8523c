#!/usr/bin/env bash
# cluster.sh manages the local kwok test cluster (internal/devtools/localcluster).
#
#   hack/cluster.sh up [--name sail] [--nodes 3] [--audit-policy FILE]
#                                    builds the binaries if needed (hack/tools.sh),
#                                    starts or reuses the cluster, prints its kubeconfig path
#   hack/cluster.sh down [--name sail]        deletes the cluster and its processes
#   hack/cluster.sh kubeconfig [--name sail]  prints the kubeconfig path of a running cluster
#
# Only the kubeconfig path goes to stdout, so `export KUBECONFIG=$(hack/cluster.sh up)` works.
# State lives in .cluster/clusters/<name>/ (component logs in its logs/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

case "${1:-}" in
up)
	hack/tools.sh kubernetes etcd kwok >&2
	;;
down | kubeconfig) ;;
*)
	echo "usage: hack/cluster.sh up|down|kubeconfig [flags]" >&2
	exit 2
	;;
esac

exec go run ./hack/localcluster "$@"
