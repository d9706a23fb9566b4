#!/usr/bin/env bash
# The crash soak's checks find what they look for: between the kill and the
# restart the data directory is tampered with (bench_soak --between), and
# the soak must fail naming it — an acknowledged version rolled back, an
# account without its event, an altered log entry.
set -euo pipefail
steward=${1:?path to steward}
soak=$(dirname "$steward")/bench/bench_soak
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# every record's newest version rolled back (among them acknowledged ones),
# and an account that no user.create event names
rollback='sqlite3 "$SOAK_DATA/steward.db" "
  DELETE FROM record_version WHERE (record_id, version) IN
    (SELECT id, current_version FROM record WHERE current_version > 1);
  UPDATE record SET current_version = current_version - 1 WHERE current_version > 1;
  INSERT INTO app_user (username, display_name, kind, status, created_at, updated_at)
    VALUES (\"ghost\", \"Ghost\", \"employee\", \"active\", 0, 0);"'
if "$soak" crash --steward "$steward" --dir "$tmp/a" --rounds 1 --min-ms 1200 --max-ms 1200 \
    --between "$rollback" > "$tmp/a.out" 2>&1; then
  fail "a rolled-back write passed: $(cat "$tmp/a.out")"
fi
grep -q "was found (lost)" "$tmp/a.out" || fail "lost write not named: $(cat "$tmp/a.out")"
grep -q "(ghost) exists without its user.create event" "$tmp/a.out" ||
  fail "account without its event not named: $(cat "$tmp/a.out")"
grep -q "^FAILED: " "$tmp/a.out" || fail "verdict: $(cat "$tmp/a.out")"

# one entry of the log altered
alter='sqlite3 "$SOAK_DATA/audit.db" "UPDATE audit_event SET entry = replace(entry, \"allow\", \"alloW\") WHERE seq = 3"'
if "$soak" crash --steward "$steward" --dir "$tmp/b" --rounds 1 --max-ms 100 \
    --between "$alter" > "$tmp/b.out" 2>&1; then
  fail "an altered log passed: $(cat "$tmp/b.out")"
fi
grep -q "steward audit verify failed" "$tmp/b.out" || fail "verify failure not named: $(cat "$tmp/b.out")"
echo "ok"
