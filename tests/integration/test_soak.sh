#!/usr/bin/env bash
# The crash and load soaks cannot rot: five SIGKILL rounds and a few seconds
# of load against a real server, through the very scripts the full runs use
# (`make soak-crash ROUNDS=1000`, `make soak-load SOAK_SECONDS=600`, outside
# the suite: docs/benchmarks.md). test_soak_checks.sh shows that the soak's
# checks fail when something acknowledged is lost.
set -euo pipefail
steward=${1:?path to steward}
build=$(cd "$(dirname "$steward")" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$src/scripts/soak-crash.sh" "$build" 5 --max-ms 400 > "$tmp/crash.out" 2>&1 ||
  fail "crash soak: $(cat "$tmp/crash.out")"
grep -q "^round 5: killed after" "$tmp/crash.out" || fail "five rounds: $(cat "$tmp/crash.out")"
grep -q "^PASSED: 0 failed checks" "$tmp/crash.out" || fail "crash soak: $(cat "$tmp/crash.out")"
grep -Eq "^acknowledged: [1-9][0-9]* reads, [0-9]+ creates, [1-9][0-9]* updates, [1-9][0-9]* administrative" \
  "$tmp/crash.out" || fail "the crash soak did too little: $(cat "$tmp/crash.out")"

# the memory bound is the full run's business (a few seconds are all warm-up)
"$src/scripts/soak-load.sh" "$build" 4 --every 1 --growth 100000 > "$tmp/load.out" 2>&1 ||
  fail "load soak: $(cat "$tmp/load.out")"
grep -q "errors: 0$" "$tmp/load.out" || fail "load soak errors: $(cat "$tmp/load.out")"
grep -q "^PASSED: 0 failed checks" "$tmp/load.out" || fail "load soak: $(cat "$tmp/load.out")"
grep -q "^VmRSS: first" "$tmp/load.out" || fail "no memory report: $(cat "$tmp/load.out")"
echo "ok"
