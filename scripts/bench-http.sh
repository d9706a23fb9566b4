#!/usr/bin/env bash
# The HTTP benchmark: wrk on loopback against (1) Steward serving a signed-in,
# authorized, durably logged read of a 1 KB record and (2) nginx serving a
# 1 KB static file, on the same machine in the same run; prints the ratio.
# (3) is the floor under (1): libmicrohttpd answering the same bytes from
# memory, each answer waiting for a 64-byte record flushed to disk by a group
# commit (bench/bench_http_floor.c) -- what durable logging alone allows here.
#   scripts/bench-http.sh BUILD_DIR [SECONDS] [CONNECTIONS]
set -euo pipefail
build=${1:-build}
secs=${2:-10}
conns=${3:-64}
STEWARD_BENCH=1 "$(dirname "$0")/bootstrap.sh"
work=$(mktemp -d /tmp/steward-bench-http-XXXXXX)
steward_pid=""; nginx_conf=""; floor_pid=""
cleanup() {
  [ -n "$steward_pid" ] && kill "$steward_pid" 2>/dev/null && wait "$steward_pid" 2>/dev/null || true
  [ -n "$floor_pid" ] && kill "$floor_pid" 2>/dev/null && wait "$floor_pid" 2>/dev/null || true
  [ -n "$nginx_conf" ] && nginx -c "$nginx_conf" -p "$work/nginx" -s stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

read -r token record < <("$build/bench/bench_http_setup" "$work/data")
"$build/steward" serve --data "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" \
  --per-address 4096 --connections 4096 > "$work/steward.log" 2>&1 &
steward_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
sport=$(cat "$work/port")
url="http://127.0.0.1:$sport/api/v1/records/$record?purpose=benchmark"
curl -sf -H "Authorization: Bearer $token" "$url" > "$work/sample.json"
bytes=$(wc -c < "$work/sample.json")

mkdir -p "$work/nginx/html" "$work/nginx/logs"
chmod 755 "$work" "$work/nginx" "$work/nginx/html"
head -c "$bytes" /dev/zero | tr '\0' 'x' > "$work/nginx/html/record.json"
chmod 644 "$work/nginx/html/record.json"
nport=$((sport + 1))
nginx_conf="$work/nginx/nginx.conf"
cat > "$nginx_conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:$nport; root $work/nginx/html; }
}
CONF
nginx -c "$nginx_conf" -p "$work/nginx"
sleep 0.5

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores; wrk -t2 -c$conns -d${secs}s --latency; responses of $bytes bytes"
hz=$(getconf CLK_TCK)
# CPU time (clock ticks) used so far by processes and all their threads
ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
# run NAME "PIDS" WRK-ARGS...: wrk's report into $work/NAME.txt; the server's
# and wrk's CPU per request (microseconds) into $work/NAME.cpu
run() {
  local name=$1 pids=$2; shift 2
  local a b
  a=$(ticks $pids)
  { TIMEFORMAT='%U %S'; time wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" > "$work/$name.txt"; } 2> "$work/$name.time"
  b=$(ticks $pids)
  cat "$work/$name.txt"
  awk -v a="$a" -v b="$b" -v hz="$hz" -v secs="$secs" '
    FNR == NR && /Requests\/sec/ { rate = $2 } FNR != NR { w = $1 + $2 }
    END { n = rate * secs; printf "%.0f %.0f\n", (b - a) * 1e6 / hz / n, w * 1e6 / n }' \
    "$work/$name.txt" "$work/$name.time" > "$work/$name.cpu"
}
echo "## Steward: signed-in, authorized, durably logged read"
run steward "$steward_pid" -H "Authorization: Bearer $token" "$url"
echo "## nginx: static file"
nmaster=$(cat "$work/nginx/nginx.pid")
run nginx "$nmaster $(pgrep -P "$nmaster" | tr '\n' ' ')" "http://127.0.0.1:$nport/record.json"
s=$(awk '/Requests\/sec/ {print $2}' "$work/steward.txt")
echo "## floor: a fixed answer from memory, after a durable 64-byte record"
"$build/bench/bench_http_floor" --port-file "$work/fport" --bytes "$bytes" --model pool \
  --durable "$work/floor.log" &
floor_pid=$!
for _ in $(seq 100); do [ -s "$work/fport" ] && break; sleep 0.1; done
run floor "$floor_pid" "http://127.0.0.1:$(cat "$work/fport")/record.json"
n=$(awk '/Requests\/sec/ {print $2}' "$work/nginx.txt")
f=$(awk '/Requests\/sec/ {print $2}' "$work/floor.txt")
fp99=$(awk '/ 99%/ {print $2}' "$work/floor.txt")
sp99=$(awk '/ 99%/ {print $2}' "$work/steward.txt")
np99=$(awk '/ 99%/ {print $2}' "$work/nginx.txt")
echo
read -r scpu swrk < "$work/steward.cpu"; read -r ncpu nwrk < "$work/nginx.cpu"
read -r fcpu fwrk < "$work/floor.cpu"
echo "| server | requests/s | p99 | server CPU µs/request | wrk CPU µs/request |"
echo "|---|---:|---:|---:|---:|"
echo "| Steward (authorized, logged read) | $s | $sp99 | $scpu | $swrk |"
echo "| nginx (static file) | $n | $np99 | $ncpu | $nwrk |"
echo "| floor (fixed answer, durable record) | $f | $fp99 | $fcpu | $fwrk |"
awk -v s="$s" -v n="$n" -v f="$f" 'BEGIN { printf "Steward / nginx = %.2f; floor / nginx = %.2f; Steward / floor = %.2f\n", s / n, f / n, s / f }'
curl -sf "http://127.0.0.1:$sport/api/v1/health"; echo
