#!/usr/bin/env bash
# The command line as people expect it: `steward --help` lists the commands;
# every command of the table (read from `steward help`, so a new row is
# checked without touching this test) answers --help with exit 0 and a usage
# line naming it; a misspelled option is exit 2 naming it; and every message
# any of them prints, asked for help, given a bad option or given nothing at
# all (no server, no data directory), ends with a newline; and `make
# install` puts steward on the PATH.
set -euo pipefail
steward=$(realpath "${1:?path to steward}")
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"
# no session, server, token or data directory from the caller's environment
export HOME="$tmp" STEWARD_SESSION="$tmp/session.json"
unset STEWARD_SERVER STEWARD_TOKEN STEWARD_CACERT STEWARD_DATA STEWARD_PASSPHRASE
# Fails unless the file is empty or its last byte is a newline.
ends_with_newline() {
  [ ! -s "$1" ] || [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] ||
    fail "$2: its output does not end with a newline: $(cat "$1")"
}

for top in --help -h help; do
  "$steward" $top > out 2> err || fail "steward $top: exit $?"
  grep -q '^usage: steward COMMAND' out || fail "steward $top: no usage line"
  [ ! -s err ] || fail "steward $top wrote to stderr: $(cat err)"
done
"$steward" --version > out || fail "steward --version"
grep -q '^steward ' out || fail "steward --version: $(cat out)"

# the table, as `steward help` lists it: "  NAME  help" up to the blank line
"$steward" help > out
mapfile -t names < <(sed -n '/^commands:$/,/^$/p' out | sed -n 's/^  \([a-z-]\+\( [a-z-]\+\)\?\)  .*/\1/p')
[ "${#names[@]}" -ge 25 ] || fail "only ${#names[@]} commands listed: $(cat out)"

for name in "${names[@]}"; do
  read -ra words <<< "$name"
  # --help: exit 0, the usage line first, nothing on stderr
  "$steward" "${words[@]}" --help > out 2> err < /dev/null || fail "$name --help: exit $?"
  [ "$(head -n 1 out | cut -c 1-$((15 + ${#name})))" = "usage: steward $name" ] ||
    fail "$name --help: no usage line: $(cat out)"
  [ ! -s err ] || fail "$name --help wrote to stderr: $(cat err)"
  ends_with_newline out "$name --help"
  # `steward help NAME` says the same
  "$steward" help "${words[@]}" > out2 < /dev/null || fail "help $name: exit $?"
  cmp -s out out2 || fail "help $name differs from $name --help"
  # a misspelled option: exit 2, named, on stderr, ending with a newline
  set +e
  "$steward" "${words[@]}" --no-such-option > out 2> err < /dev/null
  rc=$?
  set -e
  [ "$rc" = 2 ] || fail "$name --no-such-option: exit $rc"
  grep -q -- "--no-such-option" err || fail "$name --no-such-option not named: $(cat err)"
  ends_with_newline err "$name --no-such-option"
  ends_with_newline out "$name --no-such-option"
  # nothing at all: whatever it says ends with a newline
  set +e
  timeout 60 "$steward" "${words[@]}" > out 2> err < /dev/null
  rc=$?
  set -e
  [ "$rc" != 124 ] || fail "$name with no arguments did not finish"
  ends_with_newline out "$name"
  ends_with_newline err "$name"
  [ "$rc" = 0 ] || [ -s err ] || fail "$name failed ($rc) without a word"
done

# a sign-in with nothing to read the username from says so, on a line of its own
set +e
"$steward" login --server http://127.0.0.1:9 > out 2> err < /dev/null
rc=$?
set -e
[ "$rc" = 2 ] && grep -q -- "--username" err || fail "login without a username: $rc $(cat err)"
ends_with_newline err "login without a username"
# api's usage names what it takes
"$steward" api --help | grep -q '^usage: steward api METHOD PATH' || fail "api usage"
# the first word of a two-word command says which there are
set +e
"$steward" users > out 2> err
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "steward users reset" err || fail "'steward users': $rc $(cat err)"
ends_with_newline err "steward users"
# an unknown command: exit 2, with a newline
set +e
"$steward" frobnicate > out 2> err
rc=$?
set -e
[ "$rc" = 2 ] && grep -q 'unknown command' err || fail "unknown command: $rc $(cat err)"
ends_with_newline err "steward frobnicate"
# make install puts steward on the PATH: PREFIX/bin (the Makefile's wiring,
# without building), then the install step itself into a scratch prefix
make -n -C "$src" install PREFIX="$tmp/prefix" > out 2>&1 || fail "make -n install: $(cat out)"
grep -q "scripts/install.sh build/steward $tmp/prefix/bin/steward" out || fail "make install: $(cat out)"
grep -q '^PREFIX *?= */usr/local$' "$src/Makefile" || fail "PREFIX is not /usr/local by default"
"$src/scripts/install.sh" "$steward" "$tmp/prefix/bin/steward" > out 2>&1 || fail "install: $(cat out)"
[ "$(stat -c %a "$tmp/prefix/bin/steward")" = 755 ] || fail "installed mode"
PATH="$tmp/prefix/bin:$PATH" steward --version | grep -q '^steward ' || fail "steward is not on the PATH"
echo ok
