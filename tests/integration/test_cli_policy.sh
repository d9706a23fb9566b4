#!/usr/bin/env bash
# `steward policy check` on the shipped rules, on a broken file (the place
# named), and on rules that can never apply or that conflict; `steward demo`
# fills a data directory with the synthetic district.
set -euo pipefail
steward=${1:?path to steward}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"
"$steward" policy check "$src/data/policy.json" > out || fail "shipped rules: $(cat out)"
grep -q "valid" out || fail "output: $(cat out)"
printf '{"format":"steward-policy/1","roles":{"teacher":{"title":"T"}},"rules":[{"id":"a","description":"d","effect":"allow","roles":["teacher"],"actions":["read"],"categories":["horoscope"],"through":["teacher_of"]}]}' > bad.json
set +e; "$steward" policy check bad.json > out 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "broken rules exit $rc"
grep -q "rules\[0\].categories" out || fail "broken rules message: $(cat out)"
cat > lint.json <<'JSON'
{"format":"steward-policy/1","roles":{"teacher":{"title":"T"},"nurse":{"title":"N"}},"rules":[
 {"id":"ban","description":"d","effect":"forbid","roles":["teacher"],"actions":["read"],"categories":["health"]},
 {"id":"dead","description":"d","effect":"allow","roles":["teacher"],"actions":["read"],"categories":["health"],"through":["school_staff"]},
 {"id":"one","description":"d","effect":"allow","roles":["nurse"],"actions":["read"],"categories":["health"],"through":["school_staff"]},
 {"id":"two","description":"d","effect":"allow","roles":["nurse"],"actions":["read"],"categories":["health"],"through":["school_staff"],"conditions":["purpose"]}]}
JSON
set +e; "$steward" policy check lint.json > out 2>&1; rc=$?; set -e
[ "$rc" = 1 ] || fail "lint exit $rc: $(cat out)"
grep -q "rule dead: .*never apply" out || fail "dead rule not reported: $(cat out)"
grep -q "rule two: conflicts with \"one\"" out || fail "conflict not reported: $(cat out)"

printf 'violet umbrella tractor 42\n' > pw
"$steward" init --data d --admin admin --admin-password-file pw > /dev/null
"$steward" demo --data d --students 40 --schools 2 > out || fail "demo: $(cat out)"
grep -q "2 schools" out || fail "demo output: $(cat out)"
"$steward" audit verify --data d > out || fail "verify after demo: $(cat out)"
echo ok
