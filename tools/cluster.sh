#!/usr/bin/env bash
# make cluster / make cluster-stop: a local 3-member detcd cluster on loopback (client ports 2379, 22379, 32379; peer
# ports 2380, 22380, 32380, as etcd's Procfile), data and logs under ./cluster-data.
#   tools/cluster.sh start BIN   starts it (refuses if it already runs) and prints the endpoints and an etcdctl command
#   tools/cluster.sh stop        stops it (SIGTERM) and leaves the data for the next start
set -u
dir=${CLUSTER_DIR:-$(pwd)/cluster-data}
names=(infra1 infra2 infra3)
client=(2379 22379 32379)
peer=(2380 22380 32380)
initial=""
for i in 0 1 2; do initial+="${initial:+,}${names[$i]}=http://127.0.0.1:${peer[$i]}"; done
endpoints="http://127.0.0.1:2379,http://127.0.0.1:22379,http://127.0.0.1:32379"

case "${1:-}" in
  start)
    bin="$2"
    mkdir -p "$dir"
    for i in 0 1 2; do
      pidfile="$dir/${names[$i]}.pid"
      if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "${names[$i]} already runs (pid $(cat "$pidfile")); make cluster-stop first" >&2
        exit 1
      fi
      "$bin" --name="${names[$i]}" --data-dir="$dir/${names[$i]}.etcd" \
        --listen-client-urls="http://127.0.0.1:${client[$i]}" --advertise-client-urls="http://127.0.0.1:${client[$i]}" \
        --listen-peer-urls="http://127.0.0.1:${peer[$i]}" --initial-advertise-peer-urls="http://127.0.0.1:${peer[$i]}" \
        --initial-cluster="$initial" --initial-cluster-token=detcd-local >"$dir/${names[$i]}.log" 2>&1 &
      echo $! >"$pidfile"
    done
    for i in 0 1 2; do
      for _ in $(seq 1 100); do
        grep -q "ready to serve client requests" "$dir/${names[$i]}.log" && break
        sleep 0.1
      done
      grep -q "ready to serve client requests" "$dir/${names[$i]}.log" || {
        echo "${names[$i]} did not start; see $dir/${names[$i]}.log" >&2
        exit 1
      }
    done
    echo "detcd cluster up: $endpoints (logs in $dir)"
    echo "try: ETCDCTL_API=3 etcdctl --endpoints=$endpoints member list -w table"
    ;;
  stop)
    for i in 0 1 2; do
      pidfile="$dir/${names[$i]}.pid"
      [ -f "$pidfile" ] || continue
      pid=$(cat "$pidfile")
      if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      rm -f "$pidfile"
    done
    echo "detcd cluster stopped (data kept in $dir)"
    ;;
  *)
    echo "usage: $0 start BIN | stop" >&2
    exit 2
    ;;
esac
