#!/usr/bin/env bash
# `make fuzz`: runs each fuzzer of tests/fuzz for long, one after the other.
#   scripts/fuzz.sh BUILD_DIR SECONDS [PARSER...]   (every parser when none)
# Each grows its corpus in BUILD_DIR/fuzz-work/corpus/<parser>/ (kept from
# run to run), and a finding is saved in BUILD_DIR/fuzz-work/artifacts/.
# Extra libFuzzer flags can be given in FUZZ_FLAGS (e.g. -runs=10000000 to
# stop at ten million executions). Prints one line per parser (executions,
# time, rate, corpus, findings) and fails if any fuzzer found something.
set -uo pipefail
build=${1:?build directory}
seconds=${2:?seconds per fuzzer}
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
parsers=("$@")
if [ "${#parsers[@]}" -eq 0 ]; then
	for f in "$here"/tests/fuzz/fuzz_*.c; do
		n=$(basename "$f" .c)
		parsers+=("${n#fuzz_}")
	done
fi
work=$build/fuzz-work
failed=0
echo "fuzzing ${#parsers[@]} parsers, ${seconds} s each, one at a time (corpora in $work/corpus)"
for p in "${parsers[@]}"; do
	bin=$build/fuzz/fuzz_$p
	if [ ! -x "$bin" ]; then
		echo "$p: no fuzzer $bin" >&2
		failed=1
		continue
	fi
	# shellcheck disable=SC2086
	bash "$here/tests/fuzz/run.sh" "$bin" "$seconds" "$work" -- ${FUZZ_FLAGS:-} || failed=1
done
exit $failed
