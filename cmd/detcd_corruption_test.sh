#!/usr/bin/env bash
# etcd's corruption checks on a 3-member cluster, as an operator meets them: with --experimental-corrupt-check-time a
# healthy cluster raises no alarm; a member whose state went bad (test-only DETCD_TESTING_CORRUPT_KEY: it stores
# another value for puts to one key) is refused a restart with --experimental-initial-corrupt-check ("found data
# inconsistency with peers"), and, started without it, is found by the leader's periodic check: `etcdctl alarm list`
# shows CORRUPT, writes fail with "etcdserver: corrupt cluster", reads go on.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"
detcd="$1"
declare -a cport pport pid
loopback_members 3
flags=(--heartbeat-interval=100 --election-timeout=1000 --experimental-corrupt-check-time=1s)
for i in 1 2 3; do start_member "$detcd" "$i" "${flags[@]}"; done
for i in 1 2 3; do member_ready "$i"; done
ctl() { etcdctl --endpoints="http://127.0.0.1:${cport[1]},http://127.0.0.1:${cport[2]}" --command-timeout=5s "$@"; }
for i in $(seq 1 10); do ctl put "k$i" "v$i" >/dev/null || fail "put k$i"; done
ctl put bad good >/dev/null || fail "put bad"
sleep 3  # three periodic checks
[ -z "$(ctl alarm list)" ] || fail "a healthy cluster raised an alarm: $(ctl alarm list)"
grep -q "enabled corruption checking" "$tmp/m1.log" || fail "m1 did not log its periodic check"

# m3's state goes bad: refused a restart with the initial check.
kill -TERM "${pid[3]}"
wait "${pid[3]}" 2>/dev/null
DETCD_TESTING_CORRUPT_KEY=bad start_member "$detcd" 3 "${flags[@]}" --experimental-initial-corrupt-check=true
for _ in $(seq 1 100); do kill -0 "${pid[3]}" 2>/dev/null || break; sleep 0.1; done
if kill -0 "${pid[3]}" 2>/dev/null; then
  fail "m3 with a corrupt state started despite the initial check"
  kill -9 "${pid[3]}"
fi
wait "${pid[3]}" 2>/dev/null
rc=$?
[ "$rc" -ne 0 ] || fail "m3 refused its start but exited 0"
grep -q "found data inconsistency with peers" "$tmp/m3.log" || fail "m3 did not say why: $(tail -5 "$tmp/m3.log")"
grep -q "found different hash values from remote peer" "$tmp/m3.log" || fail "m3 did not name the mismatch"

# Started without the initial check, the leader's periodic check finds it.
DETCD_TESTING_CORRUPT_KEY=bad start_member "$detcd" 3 "${flags[@]}"
member_ready 3 2
for _ in $(seq 1 100); do ctl alarm list | grep -q "alarm:CORRUPT" && break; sleep 0.1; done
alarms=$(ctl alarm list)
echo "alarms: $alarms"
echo "$alarms" | grep -q "alarm:CORRUPT" || fail "no CORRUPT alarm 10 s after a corrupt member joined: $(grep -h -i "hash\|corrupt" "$tmp"/m*.log | tail -5)"
out=$(ctl put k1 changed 2>&1)
echo "$out" | grep -q "etcdserver: corrupt cluster" || fail "a write with CORRUPT raised: $out"
[ "$(ctl get k1 --print-value-only)" = "v1" ] || fail "reads stopped with CORRUPT raised"

for i in 1 2 3; do kill -9 "${pid[$i]}" 2>/dev/null; wait "${pid[$i]}" 2>/dev/null; done
rm -rf "${tmp:?}"/* 2>/dev/null
echo "$fails failures"
[ $fails -eq 0 ]
