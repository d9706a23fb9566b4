#!/usr/bin/env bash
# The access-log commands as an operator and an auditor would use them:
# verify passes on an honest log and names the first bad entry of a tampered
# one; export writes an evidence package that verify-proof checks on its own,
# and a tampered package fails.
set -euo pipefail
steward=${1:?path to steward}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"
printf 'violet umbrella tractor 42\n' > pw
"$steward" init --data d --admin admin --admin-password-file pw > /dev/null
# a few administrative acts, each an event (init made two: the data
# directory, and the administrator's enrolment code)
for _ in 1 2 3; do "$steward" keys rotate --data d > /dev/null; done

"$steward" audit verify --data d > out || fail "verify of an honest log: $(cat out)"
grep -q "access log verified: 5 entries" out || fail "verify output: $(cat out)"

# an outside witness: missing, it is a failure (not a pass); created on
# purpose, then checked; never replaced by hand
if "$steward" audit verify --data d --witness w.json > out 2>&1; then fail "a missing witness passed"; fi
grep -q "w.json is missing" out || fail "missing witness message: $(cat out)"
"$steward" audit witness --data d w.json > out || fail "witness: $(cat out)"
[ -s w.json ] || fail "witness not written"
"$steward" audit verify --data d --witness w.json > out || fail "witness: $(cat out)"
grep -q "consistent with 2 witnesses" out || fail "witness output: $(cat out)"
if "$steward" audit witness --data d w.json > out 2>&1; then fail "a witness was replaced"; fi

# evidence package, checked by itself and with the key pinned
"$steward" audit export --data d --from 2000-01-01 --to 2100-01-01 --out pkg.json > out || fail "export: $(cat out)"
"$steward" audit verify-proof pkg.json > out || fail "verify-proof: $(cat out)"
grep -q "evidence package verified: 5 entries" out || fail "verify-proof output: $(cat out)"
"$steward" audit verify-proof pkg.json --public-key d/audit-signing.pub > out || fail "pinned: $(cat out)"
grep -q "key pinned" out || fail "pinned output"
# a package altered by one character fails
sed 's/keys.rotate/keys.rotatE/' pkg.json > bad.json
if "$steward" audit verify-proof bad.json > out 2>&1; then fail "altered package accepted"; fi
grep -q "FAILED" out || fail "altered package message: $(cat out)"

# the export itself was logged; then tamper with one entry
cp d/audit.db pristine.db
sqlite3 d/audit.db "UPDATE audit_event SET entry = replace(entry, 'keys.rotate', 'keys.rotatX') WHERE seq = 2"
set +e
"$steward" audit verify --data d > out 2>&1
rc=$?
set -e
[ "$rc" != 0 ] || fail "tampered log verified"
grep -q "entry 2" out || fail "verify did not name entry 2: $(cat out)"
cp pristine.db d/audit.db
rm -f d/audit.db-wal d/audit.db-shm
"$steward" audit verify --data d > out || fail "restored log: $(cat out)"
echo ok
