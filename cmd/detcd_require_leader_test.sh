#!/usr/bin/env bash
# etcd's require-leader convention on a 3-member cluster, as clients meet it: `etcdctl watch` (which asks for it) on a
# member whose two peers died is ended with "etcdserver: no leader" once the member has had no leader for three
# election timeouts — not before, and not at all while it has one — so the client can go to another member; a call
# carrying "hasleader: true" to that member is refused at once with UNAVAILABLE "etcdserver: no leader", while the same
# serializable read without it is served from the member's own state.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"
detcd="$1"
declare -a cport pport pid
loopback_members 3
for i in 1 2 3; do start_member "$detcd" "$i" --heartbeat-interval=100 --election-timeout=1000; done
for i in 1 2 3; do member_ready "$i"; done
ctl1() { etcdctl --endpoints="http://127.0.0.1:${cport[1]}" --command-timeout=5s "$@"; }
[ "$(ctl1 put k v1)" = "OK" ] || fail "first put"

# A unary call with or without "hasleader", as a Go client's WithRequireLeader sends it: prints "ok" or the status.
range_call() {  # range_call REQUIRE_LEADER(0|1): a serializable Range of k on m1
  /usr/bin/python3 - "${cport[1]}" "$1" <<'PY'
import sys, grpc
port, require = sys.argv[1], sys.argv[2] == "1"
# RangeRequest{key: "k", serializable: true}, encoded by hand: field 1 (bytes), field 7 (bool).
req = b"\x0a\x01k" + b"\x38\x01"
ch = grpc.insecure_channel("127.0.0.1:" + port)
call = ch.unary_unary("/etcdserverpb.KV/Range")
try:
    call(req, timeout=5, metadata=[("hasleader", "true")] if require else None)
    print("ok")
except grpc.RpcError as e:
    print("%s: %s" % (e.code().name, e.details()))
PY
}
[ "$(range_call 1)" = "ok" ] || fail "a require-leader read with a leader: $(range_call 1)"

etcdctl --endpoints="http://127.0.0.1:${cport[1]}" watch k >"$tmp/watch.out" 2>"$tmp/watch.err" &
watcher=$!
sleep 1
ctl1 put k v2 >/dev/null
for _ in $(seq 1 50); do grep -q v2 "$tmp/watch.out" && break; sleep 0.1; done
grep -q v2 "$tmp/watch.out" || fail "the watch did not see the put: $(cat "$tmp/watch.out" "$tmp/watch.err")"
sleep 3  # a member with a leader never ends the stream
kill -0 "$watcher" 2>/dev/null || fail "the watch ended while the member had a leader: $(cat "$tmp/watch.err")"

kill -9 "${pid[2]}" "${pid[3]}"
killed=$(date +%s.%N)
wait "${pid[2]}" "${pid[3]}" 2>/dev/null
for _ in $(seq 1 150); do kill -0 "$watcher" 2>/dev/null || break; sleep 0.1; done
ended=$(date +%s.%N)
if kill -0 "$watcher" 2>/dev/null; then
  fail "the watch still runs 15 s after the member lost its peers"
  kill "$watcher"
fi
wait "$watcher" 2>/dev/null
took=$(python3 -c "print(round($ended - $killed, 1))")
echo "watch ended ${took}s after the peers died: $(tr '\n' ' ' <"$tmp/watch.err")"
grep -q "etcdserver: no leader" "$tmp/watch.err" || fail "the watch did not end with etcd's no-leader error: $(cat "$tmp/watch.err")"
# The leader (or its loss) is noticed within an election timeout or two, then three checks an election timeout apart.
python3 -c "import sys; sys.exit(0 if $took >= 2.5 else 1)" || fail "the watch ended too early (${took}s)"

[ "$(range_call 1)" = "UNAVAILABLE: etcdserver: no leader" ] || fail "a require-leader read without a leader: $(range_call 1)"
[ "$(range_call 0)" = "ok" ] || fail "a serializable read without a leader: $(range_call 0)"

kill -9 "${pid[1]}" 2>/dev/null
wait "${pid[1]}" 2>/dev/null
rm -rf "${tmp:?}"/* 2>/dev/null
echo "$fails failures"
[ $fails -eq 0 ]
