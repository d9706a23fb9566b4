#!/usr/bin/env bash
# Runs one fuzzer: tests/fuzz/run.sh FUZZER SECONDS WORKDIR [--fresh] [-- libFuzzer flags]
#
# It starts from its committed seeds (tests/fuzz/corpus/<parser>/, only read)
# and from what it found before in WORKDIR/corpus/<parser>/ (which it grows;
# --fresh empties it first, so that a test run stays as short as asked), with
# its dictionary tests/fuzz/<parser>.dict if there is one, and stops after
# SECONDS. A finding (a sanitizer's report, a broken property, a crash, a
# leak, a time-out) is saved under WORKDIR/artifacts/ and makes it fail,
# with the end of the fuzzer's output. It prints one line:
#   <parser>: <executions> executions in <seconds> s (<rate>/s), corpus <n> inputs, <findings>
set -euo pipefail
fuzzer=$1 seconds=$2 work=$3
shift 3
fresh=0
if [ "${1:-}" = --fresh ]; then fresh=1; shift; fi
if [ "${1:-}" = -- ]; then shift; fi
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$fuzzer")
parser=${name#fuzz_}
corpus=$work/corpus/$parser
[ "$fresh" = 1 ] && rm -rf "$corpus"
mkdir -p "$corpus" "$work/artifacts" "$work/logs"
args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
      -artifact_prefix="$work/artifacts/$parser-")
[ -f "$here/$parser.dict" ] && args+=(-dict="$here/$parser.dict")
log=$work/logs/$parser.log
start=$(date +%s)
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$fuzzer" "${args[@]}" "$@" "$corpus" "$here/corpus/$parser" >"$log" 2>&1
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))
stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
inputs=$(find "$corpus" -type f | wc -l)
if [ "$rc" -eq 0 ]; then
	echo "$parser: ${execs:-0} executions in ${elapsed} s (${rate:-0}/s), corpus $inputs inputs, no finding"
	exit 0
fi
echo "$parser: ${execs:-?} executions in ${elapsed} s, FINDING (exit $rc); log: $log; input: $(ls -t "$work/artifacts/$parser-"* 2>/dev/null | head -n 1)"
tail -n 60 "$log"
exit 1
