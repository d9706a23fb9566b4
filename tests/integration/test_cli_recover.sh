#!/usr/bin/env bash
# Recovery on the data directory, with the server stopped: an administrator
# locked out of signing in is unlocked locally; the only administrator's
# sign-in (password and multi-factor) is reset locally; rules that leave
# nobody able to change them are replaced locally. Every act is in the
# access log.
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
first_code=$(sed -n 's/.*enrolment code: \([a-z2-7-]*\) .*/\1/p' out)
[ ${#first_code} = 19 ] || fail "init printed no enrolment code: $(cat out)"

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
# signs in and prints the session token
session() {
  curl -s -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$1\"}" "$base/api/v1/sessions" |
    sed -n 's/.*"token": *"\([^"]*\)".*/\1/p'
}
# POST $2 as session $1 with body $3; prints the status
post() {
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' -d "$3" "$base$2"
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

# the only administrator lost the device (or never used the first code):
# a reset needs the server stopped, a reason and an account
serve
if "$steward" users reset --data d --user admin --reason "lost phone" > out 2>&1; then fail "reset beside a running server"; fi
stop
if "$steward" users reset --data d --user admin > out 2>&1; then fail "reset without a reason"; fi
grep -q -- "--reason" out || fail "no-reason message: $(cat out)"
if "$steward" users reset --data d --user nobody --reason "x" > out 2>&1; then fail "reset of no such user"; fi
"$steward" users reset --data d --user admin --reason "lost phone; identity checked in person" > out 2>&1 ||
  fail "reset: $(cat out)"
one_time=$(sed -n 's/^one-time password: *//p' out)
new_code=$(sed -n 's/^enrolment code: *//p' out)
[ ${#one_time} -ge 20 ] && [ ${#new_code} = 19 ] || fail "reset output: $(cat out)"
serve
[ "$(signin 'violet umbrella tractor 42')" = 401 ] || fail "the old password still works"
tok=$(session "$one_time")
[ -n "$tok" ] || fail "the one-time password does not sign in"
[ "$(post "$tok" /api/v1/sessions/current/password \
  "{\"current_password\":\"$one_time\",\"new_password\":\"copper canyon whistle 19\"}")" = 204 ] ||
  fail "password change after reset"
# the code init printed was replaced; the new one works
[ "$(post "$tok" /api/v1/mfa/totp "{\"enrollment_code\":\"$first_code\"}")" = 400 ] || fail "the old code still works"
[ "$(post "$tok" /api/v1/mfa/totp "{\"enrollment_code\":\"$new_code\"}")" = 201 ] || fail "the new code does not work"
stop
! grep -rqF "$one_time" d || fail "the one-time password is in the data directory"
! grep -rqF "$new_code" d || fail "the enrolment code is in the data directory"

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
n=$(sqlite3 d/audit.db "SELECT COUNT(*) FROM audit_event WHERE action IN ('user.unlock', 'user.reset', 'policy.update') AND outcome = 'allow'")
[ "$n" = 4 ] || fail "expected 4 recovery events, found $n"
echo ok
