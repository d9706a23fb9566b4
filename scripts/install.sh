#!/usr/bin/env bash
# `make install`: copies the built program to DEST (0755), creating its
# directory; through sudo, as bootstrap.sh does, when that directory is not
# writable and we are not root.
set -euo pipefail
bin=${1:?path to the built steward}
dest=${2:?where to install it}
dir=$(dirname "$dest")
sudo=""
if ! { mkdir -p "$dir" 2>/dev/null && [ -w "$dir" ]; }; then
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
    sudo=sudo
  else
    echo "install: cannot write $dir: run as root, or choose another place (make install PREFIX=\$HOME/.local)" >&2
    exit 1
  fi
fi
$sudo install -d -m 0755 "$dir"
$sudo install -m 0755 "$bin" "$dest"
echo "installed $dest"
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "note: $dir is not on your PATH; add it, or run $dest" >&2 ;;
esac
