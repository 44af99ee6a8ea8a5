#!/usr/bin/env bash
# Side-by-side load: detcd and etcd (Debian etcd-server) as single members with the same flags, each driven by
# detcd-load with the same clients, keys and duration, alternating ROUNDS times on a fresh data directory each run.
# Prints each run's detcd-load summary and the median throughput ratio detcd / etcd.
#   tools/bench-vs-etcd.sh DETCD DETCD_LOAD [ROUNDS] [CLIENTS] [SECONDS]
set -eu
detcd="$1"
load="$2"
rounds="${3:-3}"
clients="${4:-16}"
seconds="${5:-10}"
command -v etcd >/dev/null || { echo "etcd not installed (Debian etcd-server)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
peer=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

run() {  # run NAME BINARY -> prints ok requests/s
  local name=$1 bin=$2 dir="$tmp/$1-$RANDOM"
  "$bin" --name=bench --data-dir="$dir" --listen-client-urls="http://127.0.0.1:$port" \
    --advertise-client-urls="http://127.0.0.1:$port" --listen-peer-urls="http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls="http://127.0.0.1:$peer" --initial-cluster="bench=http://127.0.0.1:$peer" \
    >"$dir.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do grep -q "ready to serve client requests" "$dir.log" 2>/dev/null && break; sleep 0.1; done
  local out
  out=$("$load" --endpoints="127.0.0.1:$port" --clients="$clients" --keys=100 --duration="${seconds}s" --value-bytes=256)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  echo "$name: $(echo "$out" | tr '\n' ' ')" >&2
  echo "$out" | sed -n 's/^throughput: \([0-9]*\) ok requests\/s.*/\1/p'
}

d=(); e=()
for _ in $(seq 1 "$rounds"); do
  d+=("$(run detcd "$detcd")")
  e+=("$(run etcd "$(command -v etcd)")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
md=$(median "${d[@]}"); me=$(median "${e[@]}")
echo "median ok requests/s over $rounds rounds ($clients clients, ${seconds}s, 100 keys, 256-byte values): detcd $md, etcd $me, ratio $(python3 -c "print(round($md/$me, 2))")"
