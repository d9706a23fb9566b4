#!/usr/bin/env bash
# Runs the peer engines' harness (Cedar via @cedar-policy/cedar-wasm, Casbin
# via node-casbin, and a plain-JavaScript oracle) and Steward on the same
# generated district and requests, checks that Steward gives the oracle's
# answer to every request, and prints Steward's throughput as a multiple of
# each engine's, all measured in the same run.
#   scripts/bench-peers.sh BUILD_DIR small|district|large
# The harness lives outside this repository (../shared/bench/authz-peers,
# or $STEWARD_PEERS); without it this prints a notice and succeeds.
set -euo pipefail
build=${1:-build}
scale=${2:-district}
src=${STEWARD_PEERS:-$(cd "$(dirname "$0")/.." && pwd)/../shared/bench/authz-peers}
if [ ! -f "$src/run.sh" ]; then
  echo "peer harness not found at $src; skipping the peer comparison"
  exit 0
fi
work=bench/out/peers
mkdir -p "$work"
# the harness must run from a writable copy
cp -r "$src"/. "$work"/
( cd "$work" && ./run.sh "$scale" ) > "$work/run-$scale.txt" 2>&1 || true
"$build/bench/bench_policy" --peers "$work/data/$scale" > "$work/steward-$scale.json"
node - "$work" "$scale" <<'JS'
const fs = require('fs');
const [dir, scale] = process.argv.slice(2);
const s = JSON.parse(fs.readFileSync(`${dir}/steward-${scale}.json`, 'utf8'));
const rows = [['steward', s.decisions_per_s, s.mean_us, s.p50_us, s.p99_us, s.disagree]];
for (const e of ['oracle', 'cedar', 'casbin']) {
  const f = `${dir}/results/${scale}/${e}.json`;
  if (!fs.existsSync(f)) continue;
  const r = JSON.parse(fs.readFileSync(f, 'utf8'));
  rows.push([e, r.dps, r.mean_us, r.p50_us, r.p99_us, r.disagreements ?? 0]);
}
console.log(`scale=${scale}: ${s.requests} requests, Steward disagreements with the oracle: ${s.disagree}`);
console.log('| engine | decisions/s | mean us | p50 us | p99 us | Steward is x faster |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [e, dps, mean, p50, p99] of rows)
  console.log(`| ${e} | ${Math.round(dps ?? 0).toLocaleString('en-US')} | ${mean?.toFixed?.(3) ?? mean} | ${p50?.toFixed?.(3) ?? p50} | ${p99?.toFixed?.(3) ?? p99} | ${e === 'steward' ? '1' : (s.decisions_per_s / dps).toFixed(0)} |`);
process.exit(s.disagree ? 1 : 0);
JS
