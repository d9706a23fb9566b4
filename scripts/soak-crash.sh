#!/usr/bin/env bash
# The crash soak (docs/benchmarks.md): a real server SIGKILLed under mixed
# load (record reads, creates and updates, administrative acts) ROUNDS times,
# restarted on the same data directory each time; after every kill the log
# verifies and everything acknowledged is there (bench/bench_soak.c says
# exactly what is checked). Further arguments go to bench_soak (--seed S,
# --min-ms A, --max-ms B, --readers R, --writers W, ...).
#   scripts/soak-crash.sh BUILD_DIR [ROUNDS] [bench_soak options]
# On a failure the data directory and the server's output are kept.
set -euo pipefail
build=${1:-build}
rounds=${2:-20}
shift $(($# < 2 ? $# : 2))
work=$(mktemp -d /tmp/steward-soak-crash-XXXXXX)
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores; scripts/soak-crash.sh $build $rounds $*"
if "$build/bench/bench_soak" crash --steward "$build/steward" --dir "$work/run" \
    --rounds "$rounds" "$@"; then
  rm -rf "$work"
else
  echo "kept for inspection: $work (run/data, run/server.log, run/verify.out)" >&2
  exit 1
fi
