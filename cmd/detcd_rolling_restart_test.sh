#!/usr/bin/env bash
# A rolling restart of a 3-member cluster under load, as an operator does it (SIGTERM, start again, next member): the
# leader hands leadership to its most caught-up voter before it stops (etcd's TransferLeadership), the requests made
# during the hand-over wait for the new leader, so the clients (8, on a member that stays up, getting, putting and
# compare-and-swapping, each with a 10 s deadline as etcd clients commonly set) lose no request to an election: the
# count of failed, unknown and refused requests is 0, and their history is linearizable.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, loopback_members
detcd="$1"
load="$2"
check="$3"
loopback_members 3
ctl() { etcdctl --endpoints="$endpoints" --command-timeout=10s "$@"; }
pid=()
start() {  # start I: member mI, waits until it is ready
  local i=$1 n
  n=$(grep -c "ready to serve client requests" "$tmp/m$i.log" 2>/dev/null)
  "$detcd" --name="m$i" --data-dir="$tmp/m$i" --listen-client-urls="http://127.0.0.1:${cport[$i]}" \
    --advertise-client-urls="http://127.0.0.1:${cport[$i]}" --listen-peer-urls="http://127.0.0.1:${pport[$i]}" \
    --initial-advertise-peer-urls="http://127.0.0.1:${pport[$i]}" --initial-cluster="$initial" \
    --initial-cluster-state=new >>"$tmp/m$i.log" 2>&1 &
  pid[$i]=$!
  for _ in $(seq 1 150); do
    [ "$(grep -c "ready to serve client requests" "$tmp/m$i.log")" -gt "${n:-0}" ] && return 0
    sleep 0.05
  done
  fail "m$i did not become ready: $(tail -5 "$tmp/m$i.log")"
  return 1
}
leader_index() {  # the index i of the member that leads now (0 if none is known)
  local i
  for i in 1 2 3; do
    etcdctl --endpoints="http://127.0.0.1:${cport[$i]}" endpoint status -w json 2>/dev/null |
      python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; sys.exit(0 if s["leader"]==s["header"]["member_id"] else 1)' &&
      { echo "$i"; return; }
  done
  echo 0
}
for i in 1 2 3; do start "$i" & done
wait
for i in 1 2 3; do pid[$i]=$(pgrep -f -- "--data-dir=$tmp/m$i" | head -1); done
[ "$(ctl put warm up)" = "OK" ] || fail "first put"
# The load stays on m1, so that stopping another member never cuts its connections; m1 must not lead, so that the
# leader is among the members restarted.
if [ "$(leader_index)" = 1 ]; then
  id2=$(etcdctl --endpoints="http://127.0.0.1:${cport[2]}" endpoint status -w json | python3 -c 'import json,sys; print("%x" % json.load(sys.stdin)[0]["Status"]["header"]["member_id"])')
  etcdctl --endpoints="http://127.0.0.1:${cport[1]}" move-leader "$id2" >/dev/null || fail "move-leader to m2"
fi
"$load" --endpoints="127.0.0.1:${cport[1]}" --clients=8 --keys=5 --duration=9s --timeout=10s \
  --history="$tmp/h.jsonl" >"$tmp/load.txt" 2>&1 &
loader=$!
sleep 1.5
first=$(leader_index)
[ "$first" = 2 ] || [ "$first" = 3 ] || fail "the leader is m$first, not one of the members restarted"
for i in $first $((5 - first)); do  # the leader first, then the other
  kill -TERM "${pid[$i]}"
  wait "${pid[$i]}" 2>/dev/null
  sleep 0.5
  start "$i" || break
  sleep 1.5
done
wait $loader || fail "detcd-load exited $?: $(cat "$tmp/load.txt")"
cat "$tmp/load.txt"
grep -q "finished leadership transfer" "$tmp/m$first.log" ||
  fail "the stopping leader m$first did not hand over: $(grep -i "transfer" "$tmp/m$first.log")"
counts=$(sed -n 's/^requests: \([0-9]*\) ok, \([0-9]*\) failed reads, \([0-9]*\) unknown, \([0-9]*\) refused.*/\1 \2 \3 \4/p' "$tmp/load.txt")
read -r ok failed unknown refused <<<"$counts"
echo "rolling restart under load: ${ok:-?} ok, ${failed:-?} failed, ${unknown:-?} unknown, ${refused:-?} refused"
[ "${ok:-0}" -gt 200 ] || fail "too few acknowledged requests: ${ok:-0}"
[ "${failed:-1}" -eq 0 ] && [ "${unknown:-1}" -eq 0 ] && [ "${refused:-1}" -eq 0 ] ||
  fail "requests lost to the restarts: $counts; logs: $(for i in 1 2 3; do echo "== m$i"; grep -v -E "serving|listening|enabled|published|capabilities|cluster version|added member|starting" "$tmp/m$i.log" | tail -30; done)"
verdict=$("$check" --history="$tmp/h.jsonl")
[ "$verdict" = "linearizable: yes" ] || fail "history: $verdict"
for i in 1 2 3; do kill -TERM "${pid[$i]}" 2>/dev/null; done
wait 2>/dev/null

rm -rf "${tmp:?}"/* 2>/dev/null  # the members' data: the sandbox may outlive the test
echo "$fails failures"
[ $fails -eq 0 ]
