#!/usr/bin/env bash
# netns-exec.sh runs a command inside a private network namespace made for it, so that nothing it does can send a
# packet off this machine. `make test` and `make bench` pass it to `go test -exec`: the test binaries are built
# outside (with the module proxy), then run inside.
#
# Inside, the loopback interface is up and is the only one; the default route and every address of 10.0.0.0/8
# (the local clusters' Service ClusterIPs) are local, so an API server calling a webhook at a ClusterIP reaches
# whatever listens on that address in this namespace (the real istiod, say) and nothing else. Without root it uses
# a user namespace (unshare -rn). It fails, and runs nothing, when the namespace cannot be made.
#
# Usage: hack/netns-exec.sh COMMAND [ARG...]
set -euo pipefail

if [[ "${SAIL_NETNS:-}" != "inside" ]]; then
	if ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
		echo "netns-exec.sh: needs unshare (util-linux) and ip (iproute2) to make a private network namespace" >&2
		exit 1
	fi
	flags=(--net)
	if [[ "$(id -u)" != 0 ]]; then
		flags=(--map-root-user --net)
	fi
	SAIL_NETNS=inside exec unshare "${flags[@]}" -- "$0" "$@"
fi

ip link set lo up
ip addr add 198.18.0.1/32 dev lo
ip route add default dev lo
ip route add local 10.0.0.0/8 dev lo
exec "$@"
