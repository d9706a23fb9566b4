#!/usr/bin/env bash
# The access log's witnesses outside the data directory, as an operator sets
# them up: a witness file on another path (steward audit witness, then serve
# --witness), a signed checkpoint mailed through a real SMTP server on
# loopback and posted to an HTTP endpoint, each usable with
# `steward audit verify --witness FILE`. Then what someone who can write the
# data directory does: rewrite the log with recomputed hashes and delete its
# checkpoints, witness and index; truncate it; forge a journal tail in the
# format anyone can compute. verify says so (exit 6) and serve refuses to
# start.
set -euo pipefail
steward=${1:?path to steward}
support=$(cd "$(dirname "$0")/../support" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
wait_for() { for _ in $(seq 300); do [ -e "$1" ] && return 0; sleep 0.1; done; fail "no $1"; }
cd "$tmp"
printf 'violet umbrella tractor 42\n' > pw
"$steward" init --data d --admin admin --admin-password-file pw > /dev/null

# a witness kept elsewhere (another path; in production another host's mount)
mkdir elsewhere
"$steward" audit witness --data d elsewhere/w.json > out || fail "witness: $(cat out)"
# serve refuses a witness that is not there
if "$steward" serve --data d --listen 127.0.0.1:0 --witness elsewhere/none.json > out 2>&1; then
  fail "serve started without its witness"
fi
grep -q "none.json is missing" out || fail "missing witness message: $(cat out)"

# the recipients: a real SMTP server and an HTTP endpoint, on free ports
# (the system's Python, which the python3-aiosmtpd package serves)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" "$support/smtp_sink.py" smtp.port mail & pids+=($!)
"$py" "$support/http_sink.py" http.port posts & pids+=($!)
wait_for smtp.port
wait_for http.port
smtp=$(cat smtp.port)
http=$(cat http.port)

"$steward" serve --data d --listen 127.0.0.1:0 --port-file port --witness elsewhere/w.json \
  --publish-smtp "smtp://127.0.0.1:$smtp" --publish-from steward@district.example \
  --publish-to attorney@district.example,auditor@district.example \
  --publish-post "http://127.0.0.1:$http/checkpoints" --publish-interval 1 \
  > server.log 2>&1 &
server=$!
pids+=($server)
wait_for port
port=$(cat port)
# acts to log: refused sign-ins
for _ in 1 2 3; do
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"not the password"}' \
    "http://127.0.0.1:$port/api/v1/sessions" || true
done
# published at start and then every second: wait for a second round
wait_for mail/2.eml
wait_for posts/2.json
kill -TERM "$server"
wait "$server" || fail "server exit: $(cat server.log)"

grep -q "^Subject: Steward access-log checkpoint steward:" mail/1.eml || fail "mail: $(cat mail/1.eml)"
grep -q "attorney@district.example" mail/1.rcpt || fail "recipients: $(cat mail/1.rcpt)"
grep -q "auditor@district.example" mail/1.rcpt || fail "recipients: $(cat mail/1.rcpt)"
# the witness elsewhere was advanced; the mailed and posted checkpoints,
# saved as received, are witnesses too
"$steward" audit verify --data d --witness elsewhere/w.json --witness mail/2.eml \
  --witness posts/2.json > out || fail "verify against the witnesses: $(cat out)"
grep -q "consistent with 4 witnesses" out || fail "verify output: $(cat out)"
# published at once by hand
"$steward" audit publish --data d --publish-smtp "smtp://127.0.0.1:$smtp" \
  --publish-from steward@district.example --publish-to clerk@district.example > out \
  || fail "publish: $(cat out)"
grep -q "published the verified checkpoint" out || fail "publish output: $(cat out)"
n=$(ls mail/*.eml | wc -l)
grep -q clerk@district.example "mail/$n.rcpt" || fail "published mail: $(cat "mail/$n.rcpt")"
# a header cannot be smuggled in through an address
if "$steward" audit publish --data d --publish-smtp "smtp://127.0.0.1:$smtp" \
  --publish-from steward@district.example --publish-to $'a@b.example\r\nBcc: x@y.example' \
  > out 2>&1; then fail "an address with a line break was taken"; fi
cp -a d pristine

# 1. rewritten with recomputed hashes; checkpoints, witness and index deleted
"$py" "$support/forge_log.py" rewrite d/audit.db '"outcome":"deny"' '"outcome":"deny","note":"x"'
rm -f d/audit-witness.json d/audit-index.db
set +e
"$steward" audit verify --data d > out 2>&1; rc=$?
set -e
[ "$rc" = 6 ] || fail "rewritten log: exit $rc: $(cat out)"
grep -q "audit-witness.json is missing" out || fail "rewritten log: $(cat out)"
if "$steward" audit verify --data d --witness mail/2.eml > out 2>&1; then fail "rewritten log verified"; fi
# with the data directory's witness put back: the checkpoints are gone
cp pristine/audit-witness.json d/
if "$steward" audit verify --data d > out 2>&1; then fail "rewritten log verified"; fi
grep -q "no signed checkpoint\|not a consistent extension" out || fail "rewritten log: $(cat out)"
if "$steward" audit verify --data d --witness posts/2.json > out 2>&1; then fail "rewritten log verified"; fi
grep -q "not a consistent extension" out || fail "rewritten log against the post: $(cat out)"
# and the next serve does not sign it: it refuses to start
if "$steward" serve --data d --listen 127.0.0.1:0 --witness elsewhere/w.json > out 2>&1; then
  fail "serve started on a rewritten log"
fi
grep -q "no signed checkpoint\|not a consistent extension" out || fail "serve: $(cat out)"
[ "$(sqlite3 d/audit.db 'SELECT COUNT(*) FROM audit_checkpoint')" = 0 ] || fail "serve signed the forgery"

# 2. truncated, the checkpoints, nodes and journal that would say so removed
rm -rf d && cp -a pristine d
size=$(sqlite3 d/audit.db 'SELECT COUNT(*) FROM audit_event')
cut=$((size - 2))
sqlite3 d/audit.db "DELETE FROM audit_event WHERE seq >= $cut;
  DELETE FROM audit_node WHERE ((idx + 1) << level) > $cut;
  DELETE FROM audit_checkpoint WHERE tree_size > $cut"
rm -f d/audit-journal-0 d/audit-journal-1 d/audit-index.db
if "$steward" audit verify --data d --witness elsewhere/w.json > out 2>&1; then fail "truncated log verified"; fi
grep -q "older than the witness" out || fail "truncated log: $(cat out)"
if "$steward" serve --data d --listen 127.0.0.1:0 --witness mail/2.eml > out 2>&1; then
  fail "serve started on a truncated log"
fi
grep -q "older than the witness" out || fail "serve on a truncated log: $(cat out)"

# 3. a journal tail forged in the earlier, unkeyed format
rm -rf d && cp -a pristine d
"$py" "$support/forge_log.py" legacy-tail d/audit.db 3
if "$steward" audit verify --data d > out 2>&1; then fail "forged journal tail verified"; fi
grep -q "earlier version" out || fail "forged tail: $(cat out)"
if "$steward" serve --data d --listen 127.0.0.1:0 > out 2>&1; then fail "serve took a forged tail"; fi
grep -q "earlier version" out || fail "serve on a forged tail: $(cat out)"

# what an earlier version leaves after a clean stop (records of the unkeyed
# format the log already holds) is no obstacle: existing directories work
rm -rf d && cp -a pristine d
size=$(sqlite3 d/audit.db 'SELECT COUNT(*) FROM audit_event')
"$py" "$support/forge_log.py" legacy-tail d/audit.db 3 $((size - 3))
"$steward" audit verify --data d > out 2>&1 || fail "stale earlier-format records: $(cat out)"
"$steward" serve --data d --listen 127.0.0.1:0 --port-file port2 > server2.log 2>&1 &
server=$!
pids+=($server)
wait_for port2
kill -TERM "$server"
wait "$server" || fail "serve beside stale earlier-format records: $(cat server2.log)"

# the untouched copy still verifies against every witness
rm -rf d && cp -a pristine d
"$steward" audit verify --data d --witness elsewhere/w.json --witness mail/1.eml \
  --witness posts/1.json > out || fail "pristine: $(cat out)"
echo ok
