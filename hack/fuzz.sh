#!/usr/bin/env bash
# Runs each Go fuzz target for a fixed number of executions (FUZZ_EXECS, default 1000000) and records, per target,
# the executions, the wall time and the result in _output/fuzz.txt (full logs in _output/fuzz-<target>.log).
# FUZZ_TARGETS narrows the run to the named targets, e.g. FUZZ_TARGETS="FuzzMerge FuzzConvert".
# A failure leaves the crashing input under the package's testdata/fuzz/<target>/: fix the bug, keep the file as a
# regression seed (go test runs it) and commit it.
set -uo pipefail
cd "$(dirname "$0")/.."
execs=${FUZZ_EXECS:-1000000}
minimize=${FUZZ_MINIMIZE_TIME:-5s}
targets=(
	"FuzzMerge ./internal/pipeline/values"
	"FuzzForRevision ./internal/pipeline/values"
	"FuzzConvert ./internal/cli/ossm2"
	"FuzzRender ./internal/pipeline/render"
)
mkdir -p _output
out=_output/fuzz.txt
echo "# go test -fuzz, ${execs} executions per target, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, commit $(git rev-parse --short HEAD)" >"$out"
failed=0
for t in "${targets[@]}"; do
	read -r name pkg <<<"$t"
	if [[ -n "${FUZZ_TARGETS:-}" && " ${FUZZ_TARGETS} " != *" ${name} "* ]]; then
		continue
	fi
	log=_output/fuzz-${name}.log
	start=$(date +%s)
	${GO:-go} test -run '^$' -fuzz "^${name}\$" -fuzztime "${execs}x" -fuzzminimizetime "$minimize" "$pkg" >"$log" 2>&1
	rc=$?
	wall=$(($(date +%s) - start))
	done_execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	result=PASS
	if [[ $rc -ne 0 ]]; then
		result=FAIL
		failed=1
	fi
	printf '%-16s %-28s execs=%-9s wall=%ss result=%s\n' "$name" "$pkg" "${done_execs:-0}" "$wall" "$result" | tee -a "$out"
done
exit $failed
