#!/usr/bin/env bash
# The local administration commands, run as a person would: init creates an
# owner-only data directory and refuses to run twice; serve refuses a key file
# readable by others (naming it), refuses a wrong passphrase cleanly, and
# answers the health endpoint; migrate and keys rotate work on a stopped
# data directory.
set -euo pipefail
steward=${1:?path to steward}
tmp=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"
umask 022   # as a careless operator's shell might be
printf 'violet umbrella tractor 42\n' > pw

"$steward" init --data d --admin admin --admin-password-file pw > out 2>&1 || fail "init: $(cat out)"
[ "$(stat -c %a d)" = 700 ] || fail "data dir mode $(stat -c %a d)"
[ "$(stat -c %a d/keys)" = 700 ] || fail "keys dir mode"
for f in d/steward.db d/keys/master-1.json d/audit-signing.pub; do
  [ "$(stat -c %a "$f")" = 600 ] || fail "$f mode $(stat -c %a "$f")"
done

# init twice refuses, and leaves the first one intact
if "$steward" init --data d --admin other --admin-password-file pw > out 2>&1; then fail "second init succeeded"; fi
grep -q "already holds a Steward data directory" out || fail "second init message: $(cat out)"
# a non-empty directory that is not a data directory is refused too
mkdir junk && touch junk/file
if "$steward" init --data junk --admin a --admin-password-file pw > out 2>&1; then fail "init into non-empty dir"; fi
# a weak password is refused and nothing is created
printf 'short\n' > weak
if "$steward" init --data d2 --admin a --admin-password-file weak > out 2>&1; then fail "weak password accepted"; fi
grep -q "at least 12 characters" out || fail "weak password message: $(cat out)"
[ ! -e d2 ] || fail "failed init left d2 behind"
ls -d d2.init-* 2>/dev/null && fail "failed init left a temporary directory"

# a key file readable by others stops serve, naming the file
chmod 644 d/keys/master-1.json
if "$steward" serve --data d --listen 127.0.0.1:0 > out 2>&1; then fail "serve started with 0644 key"; fi
grep -q "master-1.json" out || fail "serve did not name the key file: $(cat out)"
chmod 600 d/keys/master-1.json
chmod 644 d/steward.db
if "$steward" serve --data d --listen 127.0.0.1:0 > out 2>&1; then fail "serve started with 0644 db"; fi
grep -q "steward.db" out || fail "serve did not name the database: $(cat out)"
chmod 600 d/steward.db

# migrate is idempotent
"$steward" migrate --data d > out 2>&1 || fail "migrate: $(cat out)"

# serve answers the health endpoint, and stops cleanly on SIGTERM
port=$((20000 + RANDOM % 20000))
"$steward" serve --data d --listen 127.0.0.1:$port > server.log 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/v1/health" > health 2>/dev/null && break; sleep 0.1; done
grep -q '"status":"ok"' health || fail "health: $(cat health server.log)"
grep -q '"schema_version":' health || fail "health lacks schema_version"
# a second serve on the same data directory is refused while the first runs
if "$steward" serve --data d --listen 127.0.0.1:0 > out 2>&1; then fail "second server started"; fi
grep -q "another Steward process" out || fail "lock message: $(cat out)"
# and so is a migration (the server keeps what it read from the database)
if "$steward" migrate --data d > out 2>&1; then fail "migrate ran beside a server"; fi
grep -q "another Steward process" out || fail "migrate lock message: $(cat out)"
# a backup beside the running server: consistent, checked, no key in it
"$steward" backup --data d --to b1 > out 2>&1 || fail "backup beside a server: $(cat out)"
grep -q "beside the running server" out || fail "backup output: $(cat out)"
grep -q "access log verified" out || fail "backup not verified: $(cat out)"
[ -e b1/steward.db ] && [ -e b1/audit.db ] && [ -e b1/audit-signing.pub ] || fail "backup files: $(ls b1)"
[ ! -e b1/keys ] || fail "the master key was copied into the backup"
[ "$(stat -c %a b1)" = 700 ] && [ "$(stat -c %a b1/steward.db)" = 600 ] || fail "backup permissions"
if "$steward" backup --data d --to b1 > out 2>&1; then fail "backup over an existing directory"; fi
grep -q "new directory" out || fail "existing backup directory message: $(cat out)"
if "$steward" backup --data nonesuch --to b2 > out 2>&1; then fail "backup of no data directory"; fi
kill -TERM "$server"; wait "$server" || fail "server exit status $?"
server=""
grep -q "stopped" server.log || fail "no clean stop: $(cat server.log)"
# restored with its key, the backup serves and its log verifies
cp -r d/keys b1/keys
"$steward" audit verify --data b1 > out 2>&1 || fail "restored log: $(cat out)"
"$steward" serve --data b1 --listen 127.0.0.1:0 --port-file bport > restore.log 2>&1 &
server=$!
for _ in $(seq 100); do [ -s bport ] && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$(cat bport)/api/v1/health" | grep -q '"status":"ok"' || fail "restored server: $(cat restore.log)"
kill -TERM "$server"; wait "$server" || fail "restored server exit status $?"
server=""
# offline (no server): the data directory is held meanwhile
"$steward" backup --data d --to b3 > out 2>&1 || fail "offline backup: $(cat out)"
grep -q "beside the running server" out && fail "offline backup thought a server ran"

# TLS: with a certificate and key the server speaks only HTTPS, and says so
# to browsers (HSTS); a key file readable by others is refused like any key
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout tls.key -out tls.crt > /dev/null 2>&1 || fail "openssl could not make a test certificate"
chmod 644 tls.key
if "$steward" serve --data d --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key > out 2>&1; then
  fail "serve started with a TLS key readable by others"; fi
grep -q "tls.key" out || fail "serve did not name the TLS key: $(cat out)"
chmod 600 tls.key
if "$steward" serve --data d --listen 127.0.0.1:0 --tls-cert tls.crt > out 2>&1; then
  fail "serve started with a certificate but no key"; fi
"$steward" serve --data d --listen 127.0.0.1:0 --port-file tport --tls-cert tls.crt --tls-key tls.key > server.log 2>&1 &
server=$!
for _ in $(seq 100); do [ -s tport ] && break; sleep 0.1; done
port=$(cat tport)
curl -sf --cacert tls.crt -D hdr "https://127.0.0.1:$port/api/v1/health" > health || fail "https health: $(cat server.log)"
grep -q '"status":"ok"' health || fail "https health body: $(cat health)"
grep -qi "strict-transport-security" hdr || fail "no HSTS over TLS"
if curl -sf "http://127.0.0.1:$port/api/v1/health" > /dev/null 2>&1; then fail "plain HTTP answered on the TLS port"; fi
kill -TERM "$server"; wait "$server" || fail "TLS server exit status $?"
server=""

# key rotation from the command line
"$steward" keys rotate --data d > out 2>&1 || fail "rotate: $(cat out)"
grep -q "version 1 -> 2" out || fail "rotate output: $(cat out)"
[ ! -e d/keys/master-1.json ] && [ -e d/keys/master-2.json ] || fail "key files after rotation"

# passphrase-derived master key: wrong passphrase fails cleanly (no crash)
printf 'a passphrase of twenty-five\n' > pp
"$steward" init --data p --admin admin --admin-password-file pw --passphrase-file pp > out 2>&1 || fail "init with passphrase: $(cat out)"
set +e
STEWARD_PASSPHRASE="not the passphrase at all" "$steward" serve --data p --listen 127.0.0.1:0 > out 2>&1
rc=$?
set -e
[ "$rc" = 3 ] || fail "wrong passphrase exit status $rc: $(cat out)"
grep -q "passphrase does not open" out || fail "wrong passphrase message: $(cat out)"
set +e
"$steward" serve --data p --listen 127.0.0.1:0 > out 2>&1
rc=$?
set -e
[ "$rc" = 3 ] || fail "missing passphrase exit status $rc"
grep -q "passphrase" out || fail "missing passphrase message: $(cat out)"
echo "ok"
