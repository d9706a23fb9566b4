#!/usr/bin/env bash
# The load soak (docs/benchmarks.md): mixed load at full rate against one
# server for SECONDS (600 for the record), its resident memory sampled
# throughout; every answer must be the expected one (any other status or a
# connection error is an error), the memory floor must stay within the bound
# after the warm-up, and at the end everything acknowledged is checked as
# in the crash soak. Further arguments go to bench_soak (--every S,
# --growth PCT, --warmup PCT, --readers R, --writers W, --seed S, ...).
#   scripts/soak-load.sh BUILD_DIR [SECONDS] [bench_soak options]
# On a failure the data directory and the server's output are kept.
set -euo pipefail
build=${1:-build}
secs=${2:-60}
shift $(($# < 2 ? $# : 2))
work=$(mktemp -d /tmp/steward-soak-load-XXXXXX)
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores; scripts/soak-load.sh $build $secs $*"
if "$build/bench/bench_soak" load --steward "$build/steward" --dir "$work/run" \
    --seconds "$secs" "$@"; then
  rm -rf "$work"
else
  echo "kept for inspection: $work (run/data, run/server.log, run/verify.out)" >&2
  exit 1
fi
