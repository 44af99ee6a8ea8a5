#!/usr/bin/env bash
# Runtime reconfiguration of a detcd cluster with stock etcdctl, as etcd's runtime-reconfiguration guide does it:
# `member add` then a new member started with --initial-cluster-state=existing (it catches up and serves), a learner
# added, refused while it lags, serving serializable reads only, then promoted; a follower and then the leader removed
# (each stops by itself, the rest go on), a joined member restarted on its data directory; etcd's errors for a
# duplicate peer URL, an unknown member, promoting a voter, too many learners; a member started with peer URLs the
# cluster does not know refuses to start; the JSON gateway's member routes; every member stopped and one restarted
# with --force-new-cluster is a cluster of one with all the data.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
declare -a cport pport pid
initial=""
for i in 1 2 3 4 5 6; do
  cport[$i]=$(free_port)
  pport[$i]=$(free_port)
done
for i in 1 2 3; do initial+="${initial:+,}m$i=http://127.0.0.1:${pport[$i]}"; done
ep() { echo "http://127.0.0.1:${cport[$1]}"; }
on() { local i=$1; shift; etcdctl --endpoints="$(ep "$i")" --command-timeout=10s "$@"; }

start() {  # start MEMBER INITIAL-CLUSTER STATE
  local i=$1
  "$detcd" --name="m$i" --data-dir="$tmp/m$i" --listen-client-urls="$(ep "$i")" --advertise-client-urls="$(ep "$i")" \
    --listen-peer-urls="http://127.0.0.1:${pport[$i]}" --initial-advertise-peer-urls="http://127.0.0.1:${pport[$i]}" \
    --initial-cluster="$2" --initial-cluster-state="$3" --heartbeat-interval=50 --election-timeout=500 \
    >>"$tmp/m$i.log" 2>&1 &
  pid[$i]=$!
}
ready() {  # ready MEMBER COUNT: the member logged "ready" COUNT times
  for _ in $(seq 1 150); do
    local n
    n=$(grep -c 'ready to serve client requests' "$tmp/m$1.log" 2>/dev/null)
    [ "${n:-0}" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "m$1 did not become ready: $(tail -5 "$tmp/m$1.log")"
  return 1
}
gone() {  # gone MEMBER: its process exited within 10 s
  for _ in $(seq 1 100); do kill -0 "${pid[$1]}" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}
leader_id() { on "$1" endpoint status -w json | python3 -c 'import json,sys; print("%x" % json.load(sys.stdin)[0]["Status"]["leader"])'; }
via=1  # a member that runs, to ask
id_of() { on "$via" member list | awk -F', ' -v n="m$1" '$3 == n {print $1}'; }
eventually() {  # eventually MEMBER KEY VALUE: a serializable read on MEMBER sees KEY=VALUE within 5 s
  for _ in $(seq 1 50); do
    [ "$(on "$1" get "$2" --print-value-only --consistency=s 2>/dev/null)" = "$3" ] && return 0
    sleep 0.1
  done
  return 1
}
cleanup() { for i in 1 2 3 4 5 6; do kill -9 "${pid[$i]:-}" 2>/dev/null; done; }
trap cleanup EXIT

for i in 1 2 3; do start "$i" "$initial" new; done
for i in 1 2 3; do ready "$i" 1 || exit 1; done
on 1 put before-join 1 >/dev/null || fail "put"

# ---- add a voter: the printed settings start it ----
out=$(on 2 member add m4 --peer-urls="http://127.0.0.1:${pport[4]}")
# etcdctl prints ids as %16x: a short id is padded with spaces.
echo "$out" | grep -q "^Member  *[0-9a-f]* added to cluster" || fail "member add: $out"
join=$(echo "$out" | sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p')
echo "$out" | grep -q 'ETCD_INITIAL_CLUSTER_STATE="existing"' || fail "member add does not say existing: $out"
[ "$(on 1 member list | grep -c unstarted)" = "1" ] || fail "added member not listed as unstarted: $(on 1 member list)"
start 4 "$join" existing
ready 4 1
[ "$(on 4 get before-join --print-value-only)" = "1" ] || fail "joined member does not serve what was written before"
on 4 put from-m4 yes >/dev/null || fail "put via the joined member"
eventually 1 from-m4 yes || fail "m1 does not see the joined member's write"
[ "$(on 3 member list | grep -c started)" = "4" ] || fail "member list after join: $(on 3 member list)"
on 3 member list | grep -q ", started, m4, http://127.0.0.1:${pport[4]}, $(ep 4), false" ||
  fail "m4 not listed with its URLs: $(on 3 member list)"

# ---- etcd's errors ----
err=$(on 1 member add dup --peer-urls="http://127.0.0.1:${pport[2]}" 2>&1)
echo "$err" | grep -q "etcdserver: Peer URLs already exists" || fail "duplicate peer URL: $err"
err=$(on 1 member remove 1234abcd 2>&1)
echo "$err" | grep -q "etcdserver: member not found" || fail "remove unknown: $err"
err=$(on 1 member promote "$(id_of 2)" 2>&1)
echo "$err" | grep -q "etcdserver: can only promote a learner member" || fail "promote a voter: $err"
err=$(on 1 member update 1234abcd --peer-urls=http://127.0.0.1:1 2>&1)
echo "$err" | grep -q "etcdserver: member not found" || fail "update unknown: $err"
on 1 member update "$(id_of 3)" --peer-urls="http://127.0.0.1:${pport[3]}" | grep -q "updated in cluster" ||
  fail "update to its own URL"

# ---- a learner: refused promotion while it lags, serializable reads only, then promoted ----
out=$(on 1 member add m5 --learner --peer-urls="http://127.0.0.1:${pport[5]}")
echo "$out" | grep -q "^Member  *[0-9a-f]* added to cluster" || fail "learner add: $out"
join5=$(echo "$out" | sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p')
id5=$(echo "$out" | sed -n 's/^Member  *\([0-9a-f]*\) added.*/\1/p')
err=$(on 1 member add m6 --learner --peer-urls="http://127.0.0.1:${pport[6]}" 2>&1)
echo "$err" | grep -q "etcdserver: too many learner members in cluster" || fail "second learner: $err"
err=$(on 2 member promote "$id5" 2>&1)
echo "$err" | grep -q "etcdserver: can only promote a learner member which is in sync with leader" ||
  fail "promote a learner that has nothing: $err"
start 5 "$join5" existing
ready 5 1
eventually 5 from-m4 yes || fail "learner does not serve a serializable read"
err=$(on 5 put x y 2>&1)
echo "$err" | grep -q "etcdserver: rpc not supported for learner" || fail "learner took a write: $err"
on 5 endpoint status -w json | grep -q '"isLearner":true' ||
  fail "status does not say learner: $(on 5 endpoint status -w json)"
promoted=""
for _ in $(seq 1 30); do
  promoted=$(on 3 member promote "$id5" 2>&1) && break
  sleep 0.2
done
echo "$promoted" | grep -q "promoted in cluster" || fail "promote: $promoted"
on 5 put x y >/dev/null || fail "promoted member refuses a write"
[ "$(on 1 member list | grep -c ', false$')" = "5" ] || fail "member list after promote: $(on 1 member list)"

# ---- remove a follower, then the leader: each stops, the rest go on ----
lead=$(leader_id 1)
via=5
lead_n=""
for i in 1 2 3 4 5; do [ "$(id_of "$i")" = "$lead" ] && lead_n=$i; done
[ -n "$lead_n" ] || fail "leader $lead is none of the members"
if [ "${lead_n:-0}" -gt 3 ]; then  # m4 and m5 are kept for what follows: lead from a founding member
  on "$lead_n" move-leader "$(id_of 1)" >/dev/null || fail "move-leader"
  lead=$(id_of 1)
  lead_n=1
fi
victim=""
for i in 1 2 3; do [ "$(id_of "$i")" != "$lead" ] && victim=$i && break; done
on 4 member remove "$(id_of "$victim")" | grep -q "removed from cluster" || fail "remove m$victim"
gone "$victim" || fail "removed m$victim still runs"
grep -q "the member has been permanently removed from the cluster" "$tmp/m$victim.log" || fail "m$victim's log"
survivor=4
on "$survivor" put after-remove 1 >/dev/null || fail "put after removing a follower"
on 5 member remove "$lead" | grep -q "removed from cluster" || fail "remove the leader"
[ -n "$lead_n" ] && { gone "$lead_n" || fail "removed leader m$lead_n still runs"; }
ok=""
for _ in $(seq 1 50); do on 5 put after-leader-removed 1 >/dev/null 2>&1 && ok=yes && break; sleep 0.2; done
[ "$ok" = "yes" ] || fail "no writes after removing the leader"
[ "$(on 5 member list | wc -l)" = "3" ] || fail "member list after two removals: $(on 5 member list)"

# ---- a joined member restarts on its data directory (its IDs are its own, not --initial-cluster's) ----
kill -TERM "${pid[4]}"
wait "${pid[4]}" 2>/dev/null
# If m4 led, a write forwarded to it just before it stopped times out (as in etcd): a client tries again.
ok=""
for _ in 1 2 3; do on 5 put while-m4-down 1 >/dev/null 2>&1 && ok=yes && break; done
[ "$ok" = "yes" ] || fail "put while m4 is down"
start 4 "$join" existing
ready 4 2
eventually 4 while-m4-down 1 || fail "restarted m4 did not catch up"
grep -q "starting member $(id_of 4) in cluster" "$tmp/m4.log" || fail "m4 restarted under another id"

# ---- a member the cluster does not know refuses to start ----
"$detcd" --name=m6 --data-dir="$tmp/m6" --listen-client-urls="$(ep 6)" --advertise-client-urls="$(ep 6)" \
  --listen-peer-urls="http://127.0.0.1:${pport[6]}" --initial-advertise-peer-urls="http://127.0.0.1:${pport[6]}" \
  --initial-cluster="$join,m6=http://127.0.0.1:${pport[6]}" --initial-cluster-state=existing >"$tmp/m6.log" 2>&1
code=$?
[ "$code" = "1" ] || fail "unknown member exited $code"
grep -q "unmatched member while checking PeerURLs" "$tmp/m6.log" || fail "unknown member's error: $(tail -3 "$tmp/m6.log")"

# ---- the JSON gateway's member routes ----
body=$(curl -s -X POST "$(ep 5)/v3/cluster/member/add" -d "{\"peerURLs\":[\"http://127.0.0.1:${pport[6]}\"]}")
new_id=$(echo "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["member"]["ID"])' 2>/dev/null)
[ -n "$new_id" ] || fail "gateway member add: $body"
body=$(curl -s -X POST "$(ep 5)/v3/cluster/member/remove" -d "{\"ID\":\"$new_id\"}")
echo "$body" | grep -q '"members"' || fail "gateway member remove: $body"
body=$(curl -s -X POST "$(ep 5)/v3/cluster/member/remove" -d "{\"ID\":\"$new_id\"}")
echo "$body" | grep -q "member not found" || fail "gateway remove twice: $body"

# ---- disaster recovery: every member down, one restarted with --force-new-cluster is a cluster of one ----
for i in 1 2 3 4 5; do kill -TERM "${pid[$i]}" 2>/dev/null; done
for i in 1 2 3 4 5; do wait "${pid[$i]}" 2>/dev/null; done
"$detcd" --name=m5 --data-dir="$tmp/m5" --listen-client-urls="$(ep 5)" --advertise-client-urls="$(ep 5)" \
  --listen-peer-urls="http://127.0.0.1:${pport[5]}" --initial-advertise-peer-urls="http://127.0.0.1:${pport[5]}" \
  --initial-cluster="$join5" --initial-cluster-state=existing --force-new-cluster \
  --heartbeat-interval=50 --election-timeout=500 >>"$tmp/m5.log" 2>&1 &
pid[5]=$!
ready 5 2
[ "$(on 5 member list | wc -l)" = "1" ] || fail "member list after --force-new-cluster: $(on 5 member list)"
[ "$(on 5 get while-m4-down --print-value-only)" = "1" ] || fail "data lost by --force-new-cluster"
on 5 put after-force 1 >/dev/null || fail "no writes after --force-new-cluster"
kill -TERM "${pid[5]}"
wait "${pid[5]}" 2>/dev/null
trap - EXIT
rm -rf "${tmp:?}"/* 2>/dev/null  # the members' data: the sandbox may outlive the test
echo "$fails failures"
[ $fails -eq 0 ]
