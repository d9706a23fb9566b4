#!/usr/bin/env bash
# `make coverage`: line and branch coverage of src/ by the suite just run in
# an instrumented build (BUILD_DIR), per module (folder of src/) and in all.
# gcovr reads the counters; branches the compiler adds for exceptions are
# left out (C has none), as are branches on lines marked LCOV_EXCL.
#   scripts/coverage.sh BUILD_DIR
set -euo pipefail
build=${1:-build-coverage}
root=$(cd "$(dirname "$0")/.." && pwd)
json=$(mktemp /tmp/steward-coverage-XXXXXX.json)
trap 'rm -f "$json"' EXIT
gcovr --root "$root" --filter "$root/src/" --exclude-throw-branches \
  --gcov-ignore-parse-errors --json-summary "$json" "$build" >/dev/null
python3 - "$json" <<'PY'
import json, sys, collections
d = json.load(open(sys.argv[1]))
mods = collections.OrderedDict()
for f in sorted(d["files"], key=lambda f: f["filename"]):
    parts = f["filename"].split("/")
    mod = parts[1] if len(parts) > 2 else "(top)"
    m = mods.setdefault(mod, [0, 0, 0, 0])
    m[0] += f["line_covered"]; m[1] += f["line_total"]
    m[2] += f["branch_covered"]; m[3] += f["branch_total"]
def pct(a, b):
    return f"{100.0 * a / b:5.1f} %" if b else "    -  "
print(f"{'module':<12} {'lines':>16} {'':>7} {'branches':>16} {'':>7}")
tot = [0, 0, 0, 0]
for mod, m in mods.items():
    print(f"{mod:<12} {m[0]:>7} / {m[1]:<6} {pct(m[0], m[1])}  {m[2]:>7} / {m[3]:<6} {pct(m[2], m[3])}")
    tot = [a + b for a, b in zip(tot, m)]
print(f"{'all of src/':<12} {tot[0]:>7} / {tot[1]:<6} {pct(tot[0], tot[1])}  {tot[2]:>7} / {tot[3]:<6} {pct(tot[2], tot[3])}")
PY
