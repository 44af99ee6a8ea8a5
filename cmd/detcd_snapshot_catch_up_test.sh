#!/usr/bin/env bash
# A follower that was down while the leader compacted its log catches up by the leader's snapshot, streamed as a file:
# 3 members with a small --snapshot-count; one follower stopped; thousands of writes (detcd-load), a delete and an MVCC
# compaction through the others; the follower restarted. It must receive the snapshot into a file, install it and
# restore from it (its log says so), reach the leader's revision, hold exactly the leader's data (etcdctl reads of
# its own state, HashKV equal on every member, the compaction carried over), leave no temporary file behind (the
# leader at once, the follower by its restart at the latest), and restart from the snapshot it installed.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, loopback_members
detcd="$1"
load="$2"
declare -a cport pport pid
loopback_members 3
all="$endpoints"
ep() { echo "http://127.0.0.1:${cport[$1]}"; }
ctl() { etcdctl --endpoints="$all" --command-timeout=10s "$@"; }

start() {  # start MEMBER
  local i=$1
  "$detcd" --name="m$i" --data-dir="$tmp/m$i" --listen-client-urls="$(ep "$i")" --advertise-client-urls="$(ep "$i")" \
    --listen-peer-urls="http://127.0.0.1:${pport[$i]}" --initial-advertise-peer-urls="http://127.0.0.1:${pport[$i]}" \
    --initial-cluster="$initial" --snapshot-count=200 --heartbeat-interval=50 --election-timeout=500 \
    >>"$tmp/m$i.log" 2>&1 &
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
status_field() {  # status_field MEMBER FIELD: a number from the member's own endpoint status
  etcdctl --endpoints="$(ep "$1")" endpoint status -w json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["Status"]
print({"revision": s["header"]["revision"], "leader": s["leader"], "id": s["header"]["member_id"]}[sys.argv[1]])' "$2"
}
leader() {  # the member number that leads, or empty
  for i in 1 2 3; do
    [ -n "${pid[$i]:-}" ] && kill -0 "${pid[$i]}" 2>/dev/null || continue
    [ "$(status_field "$i" leader)" = "$(status_field "$i" id)" ] && echo "$i" && return
  done
}
tmp_files() { ls "$tmp/m$1/member/snap" 2>/dev/null | grep '\.tmp$'; }
cleanup() { for i in 1 2 3; do kill -9 "${pid[$i]:-}" 2>/dev/null; done; }
trap cleanup EXIT

for i in 1 2 3; do start "$i"; done
for i in 1 2 3; do ready "$i" 1 || exit 1; done
for k in 0 1 2 3 4; do ctl put "k$k" "v$k" >/dev/null || fail "put k$k"; done
lead=""
for _ in $(seq 1 50); do lead=$(leader); [ -n "$lead" ] && break; sleep 0.1; done
[ -n "$lead" ] || { fail "no leader: $(ctl endpoint status 2>&1)"; exit 1; }
f=$(( lead % 3 + 1 ))       # the follower that falls behind
o=$(( (lead + 1) % 3 + 1 )) # the other follower
kill -TERM "${pid[$f]}"
wait "${pid[$f]}" 2>/dev/null
pid[$f]=""

# Far more writes than the leader keeps behind its snapshots (5,000 entries): only a snapshot can catch m$f up.
"$load" --endpoints="127.0.0.1:${cport[$lead]},127.0.0.1:${cport[$o]}" --workload=put --clients=16 --conns=2 \
  --total=8000 --key-space=2000 --sequential-keys --val-size=512 --timeout=5s >"$tmp/load.txt" 2>&1 ||
  fail "load: $(cat "$tmp/load.txt")"
grep -q ' ok=8000 failed=0 ' "$tmp/load.txt" || fail "load: $(cat "$tmp/load.txt")"
live="$(ep "$lead"),$(ep "$o")"
etcdctl --endpoints="$live" put after x >/dev/null || fail "put after"
etcdctl --endpoints="$live" del k1 >/dev/null || fail "del k1"
rev=$(status_field "$lead" revision)
etcdctl --endpoints="$live" compact "$rev" >/dev/null || fail "compact $rev"
grep -q "for followers" "$tmp/m$lead.log" && fail "m$lead made a snapshot for followers before any needed one"

start "$f"
ready "$f" 2 || exit 1
want=$(status_field "$lead" revision)
got=0
for _ in $(seq 1 300); do
  got=$(status_field "$f" revision)
  [ "${got:-0}" -ge "$want" ] && break
  sleep 0.1
done
[ "${got:-0}" -ge "$want" ] || fail "m$f did not catch up: revision ${got:-?} of $want"

# Who sent it: the leader — or, since a restarted member without pre-vote (etcd's default) may call an election
# before it hears from the leader, the other member if it won that election.
sender=""
for s in "$lead" "$o"; do
  grep -q "made snapshot at index [0-9]* for followers" "$tmp/m$s.log" && { sender=$s; break; }
done
[ -n "$sender" ] || fail "no member made a snapshot for followers: $(grep -i snapshot "$tmp/m$lead.log" | tail -5)"
sender=${sender:-$lead}
grep -q "receiving the snapshot at index" "$tmp/m$f.log" || fail "m$f received no snapshot: $(tail -5 "$tmp/m$f.log")"
grep -q "installed the leader's snapshot at index" "$tmp/m$f.log" ||
  fail "m$f installed no snapshot: $(grep -i snapshot "$tmp/m$f.log" | tail -5)"

# m$f's own state (serializable reads are answered from it): the writes before it stopped, the delete, the load.
fep=$(ep "$f")
[ "$(etcdctl --endpoints="$fep" get k0 --consistency=s --print-value-only)" = "v0" ] || fail "k0 on m$f"
[ "$(etcdctl --endpoints="$fep" get k4 --consistency=s --print-value-only)" = "v4" ] || fail "k4 on m$f"
[ -z "$(etcdctl --endpoints="$fep" get k1 --consistency=s)" ] || fail "k1 (deleted) on m$f"
[ "$(etcdctl --endpoints="$fep" get after --consistency=s --print-value-only)" = "x" ] || fail "after on m$f"
count=$(etcdctl --endpoints="$fep" get 0 : --consistency=s --keys-only --limit=1 -w json |
  python3 -c 'import json, sys; print(json.load(sys.stdin).get("count", 0))')
[ "$count" = "2000" ] || fail "m$f holds $count of the 2000 loaded keys"
value=$(etcdctl --endpoints="$fep" get 00001234 --consistency=s --print-value-only)
[ "$value" = "$(etcdctl --endpoints="$(ep "$lead")" get 00001234 --print-value-only)" ] && [ ${#value} = 512 ] ||
  fail "00001234 on m$f differs from the leader's"
etcdctl --endpoints="$fep" get k0 --consistency=s --rev=2 2>&1 | grep -q "required revision has been compacted" ||
  fail "m$f lost the compaction: $(etcdctl --endpoints="$fep" get k0 --consistency=s --rev=2 2>&1)"
# Nothing is written any more: every member is at the same revision, which HashKV (at 0: the current one) covers.
for i in 1 2 3; do [ "$(status_field "$i" revision)" = "$want" ] || fail "m$i is not at revision $want"; done
all_hashes=$(ctl endpoint hashkv 2>&1)
hashes=$(echo "$all_hashes" | awk -F', ' '/^http/ {print $2}' | sort -u)
[ "$(echo "$all_hashes" | grep -c '^http')" = "3" ] && [ -n "$hashes" ] && [ "$(echo "$hashes" | wc -l)" = "1" ] ||
  fail "HashKV differs between members: $all_hashes"
# The leader's files for followers go once sent. A follower may still hold a received file Raft ignored (stale: it
# caught up otherwise), kept until a newer snapshot is installed or it restarts (host/received_snapshots.h).
[ -z "$(tmp_files "$sender")" ] || fail "m$sender left temporary snapshot files: $(tmp_files "$sender")"

# A restart of m$f comes back from the snapshot it installed.
kill -TERM "${pid[$f]}"
wait "${pid[$f]}" 2>/dev/null
start "$f"
ready "$f" 3 || exit 1
[ "$(etcdctl --endpoints="$fep" get after --consistency=s --print-value-only)" = "x" ] || fail "after on m$f (restart)"
[ -z "$(tmp_files "$f")" ] || fail "m$f kept temporary snapshot files across its restart: $(tmp_files "$f")"
[ "$(etcdctl --endpoints="$fep" endpoint hashkv 2>&1 | awk -F', ' '/^http/ {print $2}')" = "$hashes" ] ||
  fail "m$f's HashKV changed across its restart: $(etcdctl --endpoints="$fep" endpoint hashkv 2>&1)"

echo "$fails failures"
[ "$fails" -eq 0 ]
