#!/usr/bin/env bash
# tools.sh builds the test-cluster and code-generation binaries into bin/
# from the pinned Go modules under tools/:
#
#   tools/kubernetes      kube-apiserver kube-controller-manager kube-scheduler kubectl
#   tools/etcd            etcd
#   tools/kwok            kwok kwokctl
#   tools/controller-gen  controller-gen
#   istio                 pilot-discovery and istioctl of every version in resources/versions.yaml, built from
#                         tools/istio-<version> (which pins the istio.io/istio module version that file names)
#                         into bin/istio/<version>/; not in the default set: `make test` builds it, `make run`
#                         does not need it
#
# Usage: hack/tools.sh [TOOL...]   (TOOL is a directory name under tools/, or istio; default: all under tools/)
#
# A tool is rebuilt only when one of its binaries is missing or its stamp
# (bin/.stamp-<tool>) differs. The stamp is a hash of the tool module's go.mod,
# go.sum and *.go files, the build flags and the Go version, so bumping a pin in
# tools/<tool>/go.mod triggers a rebuild. Needs only Go (plus git/gcc as Go
# itself may use them); modules come from the Go module proxy.
#
# Environment: BIN_DIR overrides the output directory (default: <repo>/bin).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${BIN_DIR:-${ROOT}/bin}"
mkdir -p "${BIN_DIR}"
BIN_DIR="$(cd "${BIN_DIR}" && pwd)"

# The tools modules must build exactly as pinned: never let an inherited
# GOFLAGS=-mod=mod rewrite their go.mod/go.sum, nor a go.work pull them in.
export GOFLAGS="${GOFLAGS:-} -mod=readonly"
export GOWORK=off

ALL_TOOLS=(kubernetes etcd kwok controller-gen)

SCRATCH_DIRS=()
cleanup() {
	if ((${#SCRATCH_DIRS[@]})); then
		rm -rf "${SCRATCH_DIRS[@]}"
	fi
}
trap cleanup EXIT

# packages TOOL prints the packages built for TOOL, one per line.
packages() {
	case "$1" in
	kubernetes)
		printf '%s\n' k8s.io/kubernetes/cmd/kube-apiserver \
			k8s.io/kubernetes/cmd/kube-controller-manager \
			k8s.io/kubernetes/cmd/kube-scheduler \
			k8s.io/kubernetes/cmd/kubectl
		;;
	etcd) echo . ;;
	kwok) printf '%s\n' sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl ;;
	controller-gen) echo sigs.k8s.io/controller-tools/cmd/controller-gen ;;
	*)
		echo "tools.sh: unknown tool ${1} (known: ${ALL_TOOLS[*]})" >&2
		return 1
		;;
	esac
}

# binaries TOOL prints the file names the packages of TOOL build to.
binaries() {
	case "$1" in
	kubernetes) echo kube-apiserver kube-controller-manager kube-scheduler kubectl ;;
	etcd) echo etcd ;;
	kwok) echo kwok kwokctl ;;
	controller-gen) echo controller-gen ;;
	esac
}

# ldflags TOOL prints the linker flags for TOOL. The Kubernetes binaries get
# their release version stamped in (as the upstream release build does):
# without it they report v0.0.0-master, which breaks version checks such as a
# Helm chart's kubeVersion constraint.
ldflags() {
	local flags="-s -w"
	if [[ "$1" == kubernetes ]]; then
		local version major minor
		version="$(cd "${ROOT}/tools/kubernetes" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
		major="${version#v}"
		major="${major%%.*}"
		minor="${version#v*.}"
		minor="${minor%%.*}"
		local pkg
		for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			flags+=" -X ${pkg}.gitVersion=${version}"
			flags+=" -X ${pkg}.gitMajor=${major}"
			flags+=" -X ${pkg}.gitMinor=${minor}"
			flags+=" -X ${pkg}.gitTreeState=clean"
		done
	fi
	echo "${flags}"
}

# stamp TOOL LDFLAGS prints the hash that identifies the pinned build of TOOL.
stamp() {
	local dir="${ROOT}/tools/$1"
	{
		echo "ldflags=$2"
		go env GOVERSION GOOS GOARCH CGO_ENABLED
		(cd "${dir}" && cat go.mod go.sum && find . -maxdepth 1 -name '*.go' -print0 | sort -z | xargs -0 -r cat)
	} | sha256sum | cut -d' ' -f1
}

build_tool() {
	local tool="$1"
	local start=${SECONDS}
	local pkgs bins flags want
	mapfile -t pkgs < <(packages "${tool}")
	read -ra bins <<<"$(binaries "${tool}")"
	flags="$(ldflags "${tool}")"
	want="$(stamp "${tool}" "${flags}")"

	local stamp_file="${BIN_DIR}/.stamp-${tool}" up_to_date=1 bin
	if [[ ! -f "${stamp_file}" || "$(cat "${stamp_file}")" != "${want}" ]]; then
		up_to_date=0
	fi
	for bin in "${bins[@]}"; do
		[[ -x "${BIN_DIR}/${bin}" ]] || up_to_date=0
	done
	if ((up_to_date)); then
		printf '%-15s up to date (%s) %ds\n' "${tool}" "${bins[*]}" $((SECONDS - start))
		return 0
	fi

	# Build into a scratch directory and move the results in only when all
	# of them linked, so an interrupted build never leaves a stamp that
	# vouches for a stale or partial binary.
	rm -f "${stamp_file}"
	local tmp
	tmp="$(mktemp -d "${BIN_DIR}/.build-${tool}.XXXXXX")"
	SCRATCH_DIRS+=("${tmp}")
	if [[ "${tool}" == etcd ]]; then
		(cd "${ROOT}/tools/${tool}" && go build -trimpath -ldflags="${flags}" -o "${tmp}/etcd" .)
	else
		(cd "${ROOT}/tools/${tool}" && go build -trimpath -ldflags="${flags}" -o "${tmp}/" "${pkgs[@]}")
	fi
	for bin in "${bins[@]}"; do
		if [[ ! -x "${tmp}/${bin}" ]]; then
			echo "tools.sh: building ${tool} did not produce ${bin}" >&2
			return 1
		fi
	done
	for bin in "${bins[@]}"; do
		mv -f "${tmp}/${bin}" "${BIN_DIR}/${bin}"
	done
	rm -rf "${tmp}"
	echo "${want}" >"${stamp_file}"
	printf '%-15s built (%s) %ds\n' "${tool}" "${bins[*]}" $((SECONDS - start))
}

# istio_versions prints "name moduleVersion" for each version in resources/versions.yaml.
istio_versions() {
	awk '/^  - name:/ {name=$3} /^    moduleVersion:/ {print name, $2}' "${ROOT}/resources/versions.yaml"
}

# build_istio builds pilot-discovery and istioctl of each supported Istio version, in one go build per version
# (they share most packages), from the module tools/istio-<version>, which pins the istio.io/istio module version
# that versions.yaml names.
build_istio() {
	local name module
	while read -r name module; do
		build_istio_version "${name}" "${module}"
	done < <(istio_versions)
}

build_istio_version() {
	local name="$1" module="$2" start=${SECONDS}
	local tool="istio-${name}" dir="${BIN_DIR}/istio/${name}"
	local moddir="${ROOT}/tools/${tool}"
	if [[ ! -f "${moddir}/go.mod" ]]; then
		echo "tools.sh: no tools/${tool}/go.mod for Istio ${name}: copy another version's and pin istio.io/istio ${module}" >&2
		return 1
	fi
	local pinned
	pinned="$(cd "${moddir}" && go list -m -f '{{.Version}}' istio.io/istio)"
	if [[ "${pinned}" != "${module}" ]]; then
		echo "tools.sh: tools/${tool} pins istio.io/istio ${pinned}, resources/versions.yaml names ${module}" >&2
		return 1
	fi
	# Stamp the version in as Istio's release build does (istioctl version, istiod's reported version).
	local hub pkg=istio.io/istio/pkg/version
	hub="$(awk -v n="${name}" '/^  - name:/ {cur=$3} /^    hub:/ && cur==n {print $2}' "${ROOT}/resources/versions.yaml")"
	local flags="-s -w -X ${pkg}.buildVersion=${name#v} -X ${pkg}.buildTag=${name} -X ${pkg}.buildStatus=Clean"
	flags+=" -X ${pkg}.buildGitRevision=${module##*-} -X ${pkg}.buildHub=${hub}"
	local want stamp_file="${BIN_DIR}/.stamp-${tool}"
	want="$(stamp "${tool}" "${flags}")"
	if [[ -f "${stamp_file}" && "$(cat "${stamp_file}")" == "${want}" && -x "${dir}/pilot-discovery" && -x "${dir}/istioctl" ]]; then
		printf '%-15s up to date (pilot-discovery istioctl %s) %ds\n' istio "${name}" $((SECONDS - start))
		return 0
	fi
	rm -f "${stamp_file}"
	local tmp
	tmp="$(mktemp -d "${BIN_DIR}/.build-${tool}.XXXXXX")"
	SCRATCH_DIRS+=("${tmp}")
	(cd "${moddir}" && go build -trimpath -ldflags="${flags}" -o "${tmp}/" \
		istio.io/istio/pilot/cmd/pilot-discovery istio.io/istio/istioctl/cmd/istioctl)
	mkdir -p "${dir}"
	mv -f "${tmp}/pilot-discovery" "${tmp}/istioctl" "${dir}/"
	rm -rf "${tmp}"
	echo "${want}" >"${stamp_file}"
	printf '%-15s built (pilot-discovery istioctl %s) %ds\n' istio "${name}" $((SECONDS - start))
}

main() {
	if ! command -v go >/dev/null; then
		echo "tools.sh: go is not on PATH" >&2
		exit 1
	fi
	local tools=("$@")
	if ((${#tools[@]} == 0)); then
		tools=("${ALL_TOOLS[@]}")
	fi
	local tool
	for tool in "${tools[@]}"; do
		[[ "${tool}" == istio ]] || packages "${tool}" >/dev/null
	done

	# Serialize concurrent runs (e.g. parallel make targets) on one bin/.
	if command -v flock >/dev/null; then
		exec 9>"${BIN_DIR}/.tools.lock"
		flock 9
	fi

	for tool in "${tools[@]}"; do
		if [[ "${tool}" == istio ]]; then
			build_istio
		else
			build_tool "${tool}"
		fi
	done
}

main "$@"
