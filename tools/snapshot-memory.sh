#!/usr/bin/env bash
# Peak memory of a snapshot sent to a follower: 3 detcd members on loopback (client ports BASE+1..3, peer ports
# BASE+101..103), KEYS puts of VAL_BYTES-byte values (detcd-load), then one follower is removed, its data wiped and
# a new member added in its place (etcdctl member remove/add, --initial-cluster-state=existing): the leader's log
# is compacted far past index 1, so the new member can only catch up by the leader's snapshot. Prints VmHWM/VmRSS
# (/proc/PID/status) of every member after the load, and of the leader and the new member once it caught up; checks a
# few values on the new member with etcdctl. Not a benchmark: it measures memory only. Every server is stopped at the
# end; the data directory (logs) is kept and named.
#   tools/snapshot-memory.sh DETCD DETCD_LOAD [KEYS] [VAL_BYTES] [BASE_PORT]
set -eu
detcd="$1"
load="$2"
keys="${3:-300000}"
val="${4:-1024}"
base="${5:-35700}"
export ETCDCTL_API=3
dir=$(mktemp -d /tmp/detcd-snapmem.XXXXXX)
pids=()
. "$(dirname "$0")/servers_lib.sh"  # stop_servers
trap stop_servers EXIT
client() { echo $((base + $1)); }
peer() { echo $((base + 100 + $1)); }
cluster=""
for i in 1 2 3; do cluster+="${cluster:+,}m$i=http://127.0.0.1:$(peer $i)"; done
declare -A pid_of
start() {  # start NAME SLOT STATE CLUSTER
  "$detcd" --name="$1" --data-dir="$dir/$1" --snapshot-count=20000 \
    --listen-client-urls="http://127.0.0.1:$(client "$2")" --advertise-client-urls="http://127.0.0.1:$(client "$2")" \
    --listen-peer-urls="http://127.0.0.1:$(peer "$2")" --initial-advertise-peer-urls="http://127.0.0.1:$(peer "$2")" \
    --initial-cluster="$4" --initial-cluster-state="$3" --initial-cluster-token=snapmem >"$dir/$1.log" 2>&1 &
  pids+=($!)
  pid_of[$1]=$!
}
wait_ready() {
  for _ in $(seq 1 300); do grep -qs "ready to serve client requests" "$dir/$1.log" && return 0; sleep 0.1; done
  echo "$1 did not start; see $dir/$1.log" >&2
  exit 1
}
mem() {  # mem LABEL PID
  echo "$1 pid $2: $(grep -E '^(VmHWM|VmRSS)' "/proc/$2/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
}
for i in 1 2 3; do start "m$i" "$i" new "$cluster"; done
for i in 1 2 3; do wait_ready "m$i"; done
eps="127.0.0.1:$(client 1),127.0.0.1:$(client 2),127.0.0.1:$(client 3)"
for _ in $(seq 1 50); do
  "$load" --endpoints="127.0.0.1:$(client 1)" --workload=put --clients=1 --total=1 --timeout=1s --key-space=1 |
    grep -q ' ok=1 ' && break
  sleep 0.2
done
echo "loading $keys keys of $val bytes"
"$load" --endpoints="$eps" --workload=put --clients=32 --conns=3 --total="$keys" --key-space="$keys" \
  --sequential-keys --val-size="$val" --timeout=20s | grep result:
status=$(etcdctl --endpoints="$eps" endpoint status)
echo "$status"
leader_slot=$(echo "$status" | awk -F', ' '$5 == "true" { split($1, a, ":"); print a[2] - '"$base"' }')
[ -n "$leader_slot" ] || { echo "no leader" >&2; exit 1; }
follower_slot=$((leader_slot % 3 + 1))
leader="m$leader_slot"
follower="m$follower_slot"
for i in 1 2 3; do mem "after load m$i" "${pid_of[m$i]}"; done
fid=$(echo "$status" | awk -F', ' '$1 == "127.0.0.1:'"$(client "$follower_slot")"'" { print $2 }')
echo "replacing follower $follower ($fid) by a new member on a wiped disk"
etcdctl --endpoints="127.0.0.1:$(client "$leader_slot")" member remove "$fid" >/dev/null
kill -TERM "${pid_of[$follower]}" 2>/dev/null || true
for _ in $(seq 1 100); do kill -0 "${pid_of[$follower]}" 2>/dev/null || break; sleep 0.1; done
etcdctl --endpoints="127.0.0.1:$(client "$leader_slot")" member add "${follower}b" \
  --peer-urls="http://127.0.0.1:$(peer "$follower_slot")" >/dev/null
newcluster=""
for i in 1 2 3; do
  name="m$i"
  [ "$i" = "$follower_slot" ] && name="${follower}b"
  newcluster+="${newcluster:+,}$name=http://127.0.0.1:$(peer $i)"
done
start "${follower}b" "$follower_slot" existing "$newcluster"
wait_ready "${follower}b"
want=$(etcdctl --endpoints="127.0.0.1:$(client "$leader_slot")" endpoint status -w json | sed 's/.*"revision":\([0-9]*\).*/\1/')
caught=""
for _ in $(seq 1 600); do
  got=$(etcdctl --endpoints="127.0.0.1:$(client "$follower_slot")" endpoint status -w json 2>/dev/null |
    sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
  if [ "${got:-0}" -ge "$want" ]; then caught=yes; break; fi
  sleep 0.5
done
[ -n "$caught" ] || { echo "the new member did not catch up (revision ${got:-?} of $want)" >&2; exit 1; }
echo "new member caught up at revision $got"
mem "leader $leader" "${pid_of[$leader]}"
mem "new member ${follower}b" "${pid_of[${follower}b]}"
n=$(etcdctl --endpoints="127.0.0.1:$(client "$follower_slot")" get --consistency=s --keys-only --limit=1 0 : -w json |
  sed -n 's/.*"count":\([0-9]*\).*/\1/p')
echo "keys on the new member (serializable count): ${n:-?} of $keys"
etcdctl --endpoints="127.0.0.1:$(client "$leader_slot"),127.0.0.1:$(client "$follower_slot")" endpoint hashkv \
  --rev="$want"
grep -hE "snapshot|install" "$dir/$leader.log" "$dir/${follower}b.log" | tail -n 8
echo "logs: $dir"
