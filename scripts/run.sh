#!/usr/bin/env bash
# `make run`: creates a data directory with a first administrator the first
# time (a random one-time password and the one-time code for setting up
# multi-factor, each written to a file only the owner can read), then serves
# it on http://127.0.0.1:8080 on SQLite.
set -euo pipefail
steward=${1:-build/steward}
data=${STEWARD_DATA:-var/data}
listen=${STEWARD_LISTEN:-127.0.0.1:8080}
umask 077

if [ ! -f "$data/steward.db" ]; then
  mkdir -p "$(dirname "$data")"
  pwfile="$(dirname "$data")/admin-password.txt"
  codefile="$(dirname "$data")/admin-enrollment-code.txt"
  # 24 random characters from the kernel's generator.
  head -c 18 /dev/urandom | base64 | tr -d '\n' > "$pwfile"
  "$steward" init --data "$data" --admin admin --admin-password-file "$pwfile" \
    --one-time-password --enrollment-code-file "$codefile"
  dir=$(cd "$(dirname "$pwfile")" && pwd)
  echo
  echo "The administrator is 'admin'. Its one-time password is in:"
  echo "    $dir/$(basename "$pwfile")"
  echo "and the one-time code for setting up multi-factor (valid 7 days) in:"
  echo "    $dir/$(basename "$codefile")"
  echo "Sign in, choose a new password, set up multi-factor; then delete both files."
  echo
fi
exec "$steward" serve --data "$data" --listen "$listen"
