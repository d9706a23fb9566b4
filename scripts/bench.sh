#!/usr/bin/env bash
# `make bench`: every benchmark, each printing ratios against a baseline
# measured in the same run. Results go to bench/out/; docs/benchmarks.md
# records them with the command, the date and the machine.
#   scripts/bench.sh BUILD_DIR [quick]
set -euo pipefail
build=${1:-build}
quick=${2:-}
out=bench/out
mkdir -p "$out"
stamp() { echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"; }

echo "== access log: durable appends and proofs"
events=10000000
[ -n "$quick" ] && events=200000
{ stamp; "$build/bench/bench_audit" --seconds 5 --events "$events"; } | tee "$out/audit.txt"

echo "== need-to-know decisions: 25,000 and 1,000,000 students"
{ stamp; "$build/bench/bench_policy" --students 25000 --load; } | tee "$out/policy-25k.txt"
if [ -z "$quick" ]; then
  { stamp; "$build/bench/bench_policy" --students 1000000 --load; } | tee "$out/policy-1m.txt"
fi

echo "== the peer engines (Cedar, Casbin) on the same requests"
scripts/bench-peers.sh "$build" district | tee "$out/peers-district.txt"
