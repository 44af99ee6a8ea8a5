#!/usr/bin/env bash
# A 3-member detcd cluster on loopback, as a user runs one: etcdctl sees three members and one leader, a write through
# one member is read through another, a lock is taken; then, under a write load from detcd-load on all three
# endpoints, the leader is killed with SIGKILL and restarted on its data directory. The clients' history must pass
# detcd-check, the cluster must elect a new leader, and the restarted member must catch up.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, loopback_members
detcd="$1"
load="$2"
check="$3"
declare -a cport pport pid
loopback_members 3
ctl() { etcdctl --endpoints="$endpoints" --command-timeout=10s "$@"; }

start() {  # start MEMBER
  local i=$1
  "$detcd" --name="m$i" --data-dir="$tmp/m$i" --listen-client-urls="http://127.0.0.1:${cport[$i]}" \
    --advertise-client-urls="http://127.0.0.1:${cport[$i]}" --listen-peer-urls="http://127.0.0.1:${pport[$i]}" \
    --initial-advertise-peer-urls="http://127.0.0.1:${pport[$i]}" --initial-cluster="$initial" \
    --heartbeat-interval=50 --election-timeout=500 >>"$tmp/m$i.log" 2>&1 &
  pid[$i]=$!
}
ready() {  # ready MEMBER COUNT: the member logged "ready" COUNT times
  for _ in $(seq 1 150); do
    [ "$(grep -c 'ready to serve client requests' "$tmp/m$1.log" 2>/dev/null)" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "m$1 did not become ready: $(tail -5 "$tmp/m$1.log")"
  return 1
}
leader() {  # the member number that leads, or empty
  ctl endpoint status -w json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["Status"]["leader"] == s["Status"]["header"]["member_id"]:
        print(s["Endpoint"].rsplit(":", 1)[1])' | while read -r port; do
    for i in 1 2 3; do [ "${cport[$i]}" = "$port" ] && echo "$i"; done
  done
}
cleanup() { for i in 1 2 3; do kill -9 "${pid[$i]:-}" 2>/dev/null; done; }
trap cleanup EXIT

for i in 1 2 3; do start "$i"; done
for i in 1 2 3; do ready "$i" 1 || exit 1; done

[ "$(ctl member list | grep -c started)" = "3" ] || fail "member list: $(ctl member list)"
for i in 1 2 3; do
  # Each member's client URL, as it published it through Raft, is seen through any member.
  etcdctl --endpoints="http://127.0.0.1:${cport[1]}" member list | grep -q "m$i, http://127.0.0.1:${pport[$i]}, http://127.0.0.1:${cport[$i]}," ||
    fail "m$i's published client URL missing: $(etcdctl --endpoints="http://127.0.0.1:${cport[1]}" member list)"
done
etcdctl --endpoints="http://127.0.0.1:${cport[1]}" put shared hello >/dev/null || fail "put via m1"
[ "$(etcdctl --endpoints="http://127.0.0.1:${cport[3]}" get shared --print-value-only)" = "hello" ] ||
  fail "read via m3: $(etcdctl --endpoints="http://127.0.0.1:${cport[3]}" get shared)"
ctl lock cluster-lock -- true || fail "lock"
old=$(leader)
[ -n "$old" ] || fail "no leader: $(ctl endpoint status 2>&1)"
# A lease kept alive through a follower (the keep-alive reaches the leader).
follower=$(( old % 3 + 1 ))
fep="http://127.0.0.1:${cport[$follower]}"
lease=$(etcdctl --endpoints="$fep" lease grant 30 | awk '{print $2}')
etcdctl --endpoints="$fep" lease keep-alive --once "$lease" | grep -q "keepalived with TTL(30)" ||
  fail "keep-alive through follower m$follower: $(etcdctl --endpoints="$fep" lease keep-alive --once "$lease" 2>&1)"
# Its time to live, asked of the follower, is the leader's answer.
etcdctl --endpoints="$fep" lease timetolive "$lease" | grep -Eq "granted with TTL\(30s\), remaining\((2[0-9]|30)s\)" ||
  fail "timetolive through follower m$follower: $(etcdctl --endpoints="$fep" lease timetolive "$lease" 2>&1)"

# What dashboards for etcd read: each member's prober has timed both its peers (every 4 s, as etcd's), and the
# writes above were applied in rounds the backend commit histogram counted; no apply was slow.
for i in 1 2 3; do
  metrics=""
  for _ in $(seq 1 100); do
    metrics=$(curl -s "http://127.0.0.1:${cport[$i]}/metrics")
    [ "$(grep -c '^etcd_network_peer_round_trip_time_seconds_count{To="[0-9a-f]*"} [1-9]' <<<"$metrics")" = 2 ] && break
    sleep 0.1
  done
  [ "$(grep -c '^etcd_network_peer_round_trip_time_seconds_count{To="[0-9a-f]*"} [1-9]' <<<"$metrics")" = 2 ] ||
    fail "m$i: no round trips to both peers: $(grep round_trip <<<"$metrics")"
  grep -q '^etcd_disk_backend_commit_duration_seconds_count [1-9]' <<<"$metrics" ||
    fail "m$i: no backend commits counted: $(grep backend_commit <<<"$metrics")"
  grep -q '^etcd_server_slow_apply_total [0-9]' <<<"$metrics" || fail "m$i: no etcd_server_slow_apply_total"
done

"$load" --endpoints="$endpoints" --clients=8 --keys=5 --duration=8s --timeout=1s --history="$tmp/h.jsonl" \
  >"$tmp/load.txt" 2>&1 &
loader=$!
sleep 2
kill -9 "${pid[$old]}"
wait "${pid[$old]}" 2>/dev/null
sleep 1
new=""
for _ in $(seq 1 50); do
  new=$(leader)
  [ -n "$new" ] && [ "$new" != "$old" ] && break
  sleep 0.1
done
[ -n "$new" ] && [ "$new" != "$old" ] || fail "no new leader after killing m$old (got '$new')"
start "$old"
ready "$old" 2
wait $loader || fail "detcd-load exited $?"
cat "$tmp/load.txt"
ok=$(sed -n 's/^requests: \([0-9]*\) ok.*/\1/p' "$tmp/load.txt")
[ "${ok:-0}" -gt 200 ] || fail "too few acknowledged requests: ${ok:-0}"
verdict=$("$check" --history="$tmp/h.jsonl")
[ "$verdict" = "linearizable: yes" ] || fail "history after killing the leader: $verdict"

# The restarted member catches up: it serves the newest value the others have. The write goes to the whole cluster
# and is retried for a while, as a client does (the restart may cost an election; CI runs this beside other tests).
logs() { for i in 1 2 3; do echo "== m$i"; grep -v -E "serving|listening|enabled|published|capabilities" "$tmp/m$i.log" | tail -25; done; }
put_ok=""
for _ in $(seq 1 3); do
  ctl put after-restart yes >/dev/null 2>&1 && put_ok=1 && break
done
[ -n "$put_ok" ] || fail "put after restart: $(ctl put after-restart yes 2>&1); logs: $(logs)"
caught=""
for _ in $(seq 1 150); do
  caught=$(etcdctl --endpoints="http://127.0.0.1:${cport[$old]}" get after-restart --print-value-only 2>/dev/null)
  [ "$caught" = "yes" ] && break
  sleep 0.1
done
[ "$caught" = "yes" ] || fail "m$old did not catch up: '$caught'; logs: $(logs)"

for i in 1 2 3; do kill -TERM "${pid[$i]}" 2>/dev/null; done
for i in 1 2 3; do wait "${pid[$i]}" 2>/dev/null; done
trap - EXIT
rm -rf "${tmp:?}"/* 2>/dev/null  # the members' data: the sandbox may outlive the test
echo "$fails failures"
[ $fails -eq 0 ]
