#!/usr/bin/env bash
# Installs, with apt-get, every Debian package Steward needs to build, test and run.
# Both README commands call it; it does nothing when everything is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libsqlite3-dev libsodium-dev libmicrohttpd-dev libjansson-dev libcmocka-dev
  libcurl4-gnutls-dev libqrencode-dev nettle-dev
  sqlite3 curl ca-certificates procps openssl
  python3 python3-aiosmtpd
  # the fuzzers (make test, make fuzz): clang, and libclang-rt-dev, which
  # holds libFuzzer's runtime for it (-fsanitize=fuzzer; on Debian 12
  # libclang-rt-14-dev, for clang-14)
  clang libclang-rt-dev
)
if [ "${STEWARD_COVERAGE:-0}" = 1 ]; then
  packages+=(gcovr)
fi
if [ "${STEWARD_BENCH:-0}" = 1 ]; then
  packages+=(wrk nginx-light)
  # the peer harness needs Node.js; keep one that is already installed
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || true
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
