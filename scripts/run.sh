#!/usr/bin/env bash
# `make run`: creates a data directory with a first administrator the first
# time (a random one-time password, written to a file only the owner can
# read), then serves it on http://127.0.0.1:8080 on SQLite.
set -euo pipefail
steward=${1:-build/steward}
data=${STEWARD_DATA:-var/data}
listen=${STEWARD_LISTEN:-127.0.0.1:8080}
umask 077

if [ ! -f "$data/steward.db" ]; then
  mkdir -p "$(dirname "$data")"
  pwfile="$(dirname "$data")/admin-password.txt"
  # 24 random characters from the kernel's generator.
  head -c 18 /dev/urandom | base64 | tr -d '\n' > "$pwfile"
  "$steward" init --data "$data" --admin admin --admin-password-file "$pwfile" \
    --one-time-password
  echo
  echo "The administrator is 'admin'. Its one-time password is in:"
  echo "    $(cd "$(dirname "$pwfile")" && pwd)/$(basename "$pwfile")"
  echo "Sign in and choose a new password; then delete that file."
  echo
fi
exec "$steward" serve --data "$data" --listen "$listen"
