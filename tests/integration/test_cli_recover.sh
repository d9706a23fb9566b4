#!/usr/bin/env bash
# Recovery on the data directory, with the server stopped: an administrator
# locked out of signing in is unlocked locally; rules that leave nobody able
# to change them are replaced locally. Both acts are in the access log.
set -euo pipefail
steward=${1:?path to steward}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"
printf 'violet umbrella tractor 42\n' > pw
"$steward" init --data d --admin admin --admin-password-file pw > out 2>&1 || fail "init: $(cat out)"

serve() {
  rm -f port
  "$steward" serve --data d --listen 127.0.0.1:0 --port-file port --lock-after 3 > server.log 2>&1 &
  server=$!
  for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
  base="http://127.0.0.1:$(cat port)"
}
stop() { kill -TERM "$server"; wait "$server" || true; server=""; }
signin() {
  curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$1\"}" "$base/api/v1/sessions"
}

# the only administrator is locked out of signing in
serve
for _ in 1 2 3; do [ "$(signin 'not the password at all')" = 401 ] || fail "wrong password not 401"; done
[ "$(signin 'violet umbrella tractor 42')" = 429 ] || fail "not locked"
stop
# unlocking needs the server stopped (the data directory's lock) ...
"$steward" users unlock --data d --user admin > out 2>&1 || fail "unlock: $(cat out)"
grep -q "sign-in locks on admin ended" out || fail "unlock output: $(cat out)"
if "$steward" users unlock --data d --user nobody > out 2>&1; then fail "unlocked a user who does not exist"; fi
serve
[ "$(signin 'violet umbrella tractor 42')" = 201 ] || fail "still locked after unlock"
stop

# rules under which nobody can change the rules, installed locally ...
sed 's/"policy": \["designee"\]/"policy": ["attorney"]/' "$src/data/policy.json" > ghost.json  # nobody holds it
grep -q '"policy": \["attorney"\]' ghost.json || fail "could not make the test rules"
"$steward" policy install --data d --note "a mistake" ghost.json > out 2>&1 || fail "install: $(cat out)"
# ... and put right the same way
"$steward" policy install --data d --note "put right" "$src/data/policy.json" > out 2>&1 || fail "reinstall: $(cat out)"
grep -q "rules version 3 installed" out || fail "reinstall output: $(cat out)"
# a rule file that does not hold is refused, naming what is wrong
echo '{"roles": 5}' > bad.json
if "$steward" policy install --data d bad.json > out 2>&1; then fail "installed a bad rule file"; fi

# every one of these acts is in the access log, and the log verifies
"$steward" audit verify --data d > out 2>&1 || fail "verify: $(cat out)"
n=$(sqlite3 d/audit.db "SELECT COUNT(*) FROM audit_event WHERE action IN ('user.unlock', 'policy.update') AND outcome = 'allow'")
[ "$n" = 3 ] || fail "expected 3 recovery events, found $n"
echo ok
