#!/usr/bin/env bash
# verify-gen.sh regenerates every generated file and fails when that changed anything, i.e. when a generated file
# was out of date with its sources (API types, resources/versions.yaml, Istio's values schema, RBAC markers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

generated=(api/v1/values_types.go api/v1/zz_generated.deepcopy.go config/crd/bases config/rbac api/v1/*_types.go deploy/chart/files bundle bundle.Dockerfile)
snapshot() { find "${generated[@]}" -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum; }

before="$(snapshot)"
make --no-print-directory gen >/dev/null
after="$(snapshot)"
if [[ "${before}" != "${after}" ]]; then
	echo "Generated files were out of date and have now been regenerated:" >&2
	diff <(echo "${before}") <(echo "${after}") >&2 || true
	echo "Review and commit them (make gen)." >&2
	exit 1
fi
echo "generated files are up to date"
