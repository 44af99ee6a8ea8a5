#!/usr/bin/env bash
# The way from etcd to detcd: Debian's etcd 3.4 writes keys (versions, a delete, a compaction, a lease with a key,
# enough values to fill many bbolt pages), `etcdctl snapshot save` takes its backend, `etcdctl snapshot restore` makes
# data directories for a new cluster (1 member, then 3), and detcd started there with the same flags serves what etcd
# served: values, history since the compaction (the compacted revision refused), the lease and its key, etcd's
# revision and HashKV, and the members and ids restore gave them. Then a stopped etcd's own data directory. Stock
# etcdctl does all the checking.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"
detcd="$1"
need_etcd

trap 'for p in ${pid[@]:-} ${epid:-}; do kill -TERM "$p" 2>/dev/null; done' EXIT
ctl() { etcdctl --endpoints="$1" --command-timeout=10s "${@:2}"; }
# The parts of a JSON answer both servers must agree on (the header's ids differ: a new cluster).
kvs() {
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps([d.get("kvs",[]), d["header"]["revision"]]))'
}
# The versions alone (after a write, the header's revision is no longer etcd's).
versions() { python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())[0]))'; }
# Each part of the test starts with fresh member logs (member_ready counts "ready" lines).
fresh_logs() { local f; for f in "$tmp"/m*.log; do [ -f "$f" ] && mv "$f" "$f.$1"; done; }
header() { python3 -c "import json,sys; print(json.load(sys.stdin)['header']['$1'])"; }

# --- etcd writes the data --------------------------------------------------------------------------------------
eport=$(free_port)
epeer=$(free_port)
e="http://127.0.0.1:$eport"
"$etcd_bin" --name=src --data-dir="$tmp/src" --listen-client-urls="$e" --advertise-client-urls="$e" \
  --listen-peer-urls="http://127.0.0.1:$epeer" --initial-advertise-peer-urls="http://127.0.0.1:$epeer" \
  --initial-cluster="src=http://127.0.0.1:$epeer" >"$tmp/src.log" 2>&1 &
epid=$!
for _ in $(seq 1 100); do grep -q "ready to serve client requests" "$tmp/src.log" 2>/dev/null && break; sleep 0.1; done
grep -q "ready to serve client requests" "$tmp/src.log" ||
  { echo "etcd did not start: $(tail -5 "$tmp/src.log")"; exit 1; }

ctl "$e" put a 1 >/dev/null && ctl "$e" put b 2 >/dev/null && ctl "$e" put a 3 >/dev/null && ctl "$e" del b >/dev/null
ctl "$e" put a 5 >/dev/null  # revisions: a@2 b@3 a@4 b@5 (delete) a@6
ctl "$e" compact 4 >/dev/null || fail "etcd compact"
lease=$(ctl "$e" lease grant 600 | awk '{print $2}')
ctl "$e" put l x --lease="$lease" >/dev/null || fail "etcd put with a lease"
big=$(head -c 3000 /dev/zero | tr '\0' v)
ops=$(for i in $(seq -w 0 59); do echo "put big/$i $i$big"; done)
printf '\n%s\n\n\n' "$ops" | ctl "$e" txn | grep -q SUCCESS || fail "etcd txn of 60 puts"
ctl "$e" put a 9 >/dev/null && ctl "$e" del big/59 >/dev/null
ctl "$e" get "" --prefix -w json | kvs >"$tmp/etcd_all"
ctl "$e" get a --rev=4 -w json | kvs >"$tmp/etcd_a4"
ctl "$e" get "" --prefix --rev=6 -w json | kvs >"$tmp/etcd_rev6"
erev=$(ctl "$e" get a -w json | header revision)
[ "$erev" = 10 ] || fail "etcd's revision is $erev, want 10"
# etcd's HashKV now and at revision 6 (after the compaction at 4): a moved member must give the same numbers.
ehash=$(ctl "$e" endpoint hashkv | awk '{print $2}')
ehash6=$(ctl "$e" endpoint hashkv --rev=6 | awk '{print $2}')
[ -n "$ehash" ] && [ -n "$ehash6" ] || fail "etcd's endpoint hashkv answered nothing"
ctl "$e" snapshot save "$tmp/snap.db" >"$tmp/save.log" 2>&1 || fail "snapshot save: $(tail -3 "$tmp/save.log")"
kill -TERM "$epid"
wait "$epid" 2>/dev/null
epid=""

# check_member I: mI serves what etcd served.
check_member() {
  local c="http://127.0.0.1:${cport[$1]}"
  [ "$(ctl "$c" get "" --prefix -w json | kvs)" = "$(cat "$tmp/etcd_all")" ] || fail "m$1: keys differ from etcd's"
  [ "$(ctl "$c" get a --rev=4 -w json | kvs)" = "$(cat "$tmp/etcd_a4")" ] || fail "m$1: a at revision 4 differs"
  [ "$(ctl "$c" get "" --prefix --rev=6 -w json | kvs)" = "$(cat "$tmp/etcd_rev6")" ] || fail "m$1: revision 6 differs"
  ctl "$c" get a --rev=3 2>&1 | grep -q "required revision has been compacted" || fail "m$1: revision 3 not compacted"
  ctl "$c" lease timetolive "$lease" --keys 2>&1 | grep -q "attached keys(\[l\])" ||
    fail "m$1: lease $lease: $(ctl "$c" lease timetolive "$lease" --keys 2>&1)"
  [ "$(ctl "$c" get a -w json | header revision)" = "$erev" ] || fail "m$1: revision differs from etcd's $erev"
  local h
  h=$(ctl "$c" endpoint hashkv | awk '{print $2}')
  [ "$h" = "$ehash" ] || fail "m$1: endpoint hashkv $h, etcd's $ehash"
  h=$(ctl "$c" endpoint hashkv --rev=6 | awk '{print $2}')
  [ "$h" = "$ehash6" ] || fail "m$1: endpoint hashkv --rev=6 $h, etcd's $ehash6"
}

# restore_members N TOKEN: etcdctl snapshot restore for members m1..mN of loopback_members' cluster.
restore_members() {
  local i
  for ((i = 1; i <= $1; i++)); do
    rm -rf "$tmp/m$i"
    etcdctl snapshot restore "$tmp/snap.db" --data-dir="$tmp/m$i" --name="m$i" --initial-cluster="$initial" \
      --initial-cluster-token="$2" --initial-advertise-peer-urls="http://127.0.0.1:${pport[$i]}" \
      >"$tmp/restore$i.log" 2>&1 || fail "snapshot restore m$i: $(tail -3 "$tmp/restore$i.log")"
  done
}

# --- one member ---------------------------------------------------------------------------------------------------
loopback_members 1
restore_members 1 tok1
# etcd's ids for the restored cluster, as restore logged them.
want_cluster=$(grep -o '"cluster-id":"[0-9a-f]*"' "$tmp/restore1.log" | head -1 | cut -d'"' -f4)
want_member=$(grep -o '"added-peer-id":"[0-9a-f]*"' "$tmp/restore1.log" | head -1 | cut -d'"' -f4)
start_member "$detcd" 1 --initial-cluster-token=tok1
member_ready 1 || { echo "$fails failures"; exit 1; }
grep -q "imported etcd member $want_member of cluster $want_cluster" "$tmp/m1.log" ||
  fail "no import logged: $(grep -i etcd "$tmp/m1.log" | head -5)"
[ -f "$tmp/m1/member.etcd/snap/db" ] || fail "etcd's files were not kept in member.etcd"
check_member 1
c1="http://127.0.0.1:${cport[1]}"
list=$(ctl "$c1" member list)
[ "$list" = "$want_member, started, m1, http://127.0.0.1:${pport[1]}, http://127.0.0.1:${cport[1]}, false" ] ||
  fail "member list: $list"
got_cluster=$(printf '%x' "$(ctl "$c1" get a -w json | header cluster_id)")
[ "$got_cluster" = "$want_cluster" ] || fail "cluster id $got_cluster, want $want_cluster"
ctl "$c1" put after 1 >/dev/null || fail "put after the import"
[ "$(ctl "$c1" get after -w json | header revision)" = $((erev + 1)) ] || fail "revision after a put"
# A restart is a detcd member's restart: nothing imported again, everything still there.
kill -TERM "${pid[1]}"
wait "${pid[1]}" 2>/dev/null
start_member "$detcd" 1 --initial-cluster-token=tok1
member_ready 1 2 || { echo "$fails failures"; exit 1; }
[ "$(grep -c "imported etcd member" "$tmp/m1.log")" = 1 ] || fail "imported twice"
[ "$(ctl "$c1" get after --print-value-only)" = 1 ] || fail "the put after the import is lost at restart"
[ "$(ctl "$c1" get a --rev=4 -w json | kvs | versions)" = "$(versions <"$tmp/etcd_a4")" ] ||
  fail "history lost at restart"
kill -TERM "${pid[1]}"
wait "${pid[1]}" 2>/dev/null
# A crash between the import's renames (etcd's directory moved aside, detcd's not yet in place) is finished at start.
mkdir "$tmp/m1/detcd-import.tmp"
mv "$tmp/m1/member" "$tmp/m1/detcd-import.tmp/member"
start_member "$detcd" 1 --initial-cluster-token=tok1
member_ready 1 3 || { echo "$fails failures"; exit 1; }
grep -q "finished importing the etcd data directory" "$tmp/m1.log" || fail "the interrupted import was not finished"
[ "$(ctl "$c1" get after --print-value-only)" = 1 ] || fail "data lost by finishing the import"
kill -TERM "${pid[1]}"
wait "${pid[1]}" 2>/dev/null

# --- one member, etcd's WAL in a directory of its own (--wal-dir) ----------------------------------------------------
fresh_logs single
loopback_members 1
rm -rf "$tmp/m1" "$tmp/w1"
etcdctl snapshot restore "$tmp/snap.db" --data-dir="$tmp/m1" --wal-dir="$tmp/w1" --name=m1 \
  --initial-cluster="$initial" --initial-advertise-peer-urls="http://127.0.0.1:${pport[1]}" >"$tmp/restore_w.log" 2>&1 ||
  fail "snapshot restore --wal-dir: $(tail -3 "$tmp/restore_w.log")"
start_member "$detcd" 1 --wal-dir="$tmp/w1"
member_ready 1 && check_member 1
[ -d "$tmp/w1.etcd" ] && [ -d "$tmp/m1/member.etcd" ] || fail "etcd's WAL or member directory not kept aside"
ls "$tmp/w1" | grep -q '\.wal$' || fail "no detcd WAL in --wal-dir"
kill -TERM "${pid[1]}"
wait "${pid[1]}" 2>/dev/null

# --- three members ------------------------------------------------------------------------------------------------
fresh_logs waldir
loopback_members 3
restore_members 3 tok3
for i in 1 2 3; do start_member "$detcd" "$i" --initial-cluster-token=tok3; done
for i in 1 2 3; do member_ready "$i" || { echo "$fails failures"; exit 1; }; done
for i in 1 2 3; do check_member "$i"; done
c1="http://127.0.0.1:${cport[1]}"
[ "$(ctl "$c1" member list | wc -l)" = 3 ] || fail "member list: $(ctl "$c1" member list)"
for i in 1 2 3; do
  id=$(grep -o '"added-peer-id":"[0-9a-f]*","added-peer-peer-urls":\["http://127.0.0.1:'"${pport[$i]}"'"' \
    "$tmp/restore1.log" | head -1 | cut -d'"' -f4)
  want="$id, started, m$i, http://127.0.0.1:${pport[$i]}, http://127.0.0.1:${cport[$i]}, false"
  ctl "$c1" member list | grep -qx "$want" ||
    fail "m$i ($id) not in the member list: $(ctl "$c1" member list)"
done
ctl "$c1" put three 3 >/dev/null || fail "put on the 3-member cluster"
[ "$(ctl "http://127.0.0.1:${cport[3]}" get three --print-value-only)" = 3 ] || fail "a put not seen on m3"
for i in 1 2 3; do kill -TERM "${pid[$i]}"; done
for i in 1 2 3; do wait "${pid[$i]}" 2>/dev/null; done

# --- a running etcd's data directory is refused, and left as it was ---------------------------------------------------
"$etcd_bin" --name=src --data-dir="$tmp/src" --listen-client-urls="$e" --advertise-client-urls="$e" \
  --listen-peer-urls="http://127.0.0.1:$epeer" --initial-advertise-peer-urls="http://127.0.0.1:$epeer" \
  --initial-cluster="src=http://127.0.0.1:$epeer" >"$tmp/src2.log" 2>&1 &
epid=$!
for _ in $(seq 1 100); do grep -q "ready to serve client requests" "$tmp/src2.log" 2>/dev/null && break; sleep 0.1; done
dport=$(free_port)
out=$("$detcd" --name=src --data-dir="$tmp/src" --listen-client-urls="http://127.0.0.1:$dport" \
  --advertise-client-urls="http://127.0.0.1:$dport" --listen-peer-urls="http://127.0.0.1:$(free_port)" 2>&1)
want="cannot start on the etcd data directory $tmp/src: $tmp/src/member/snap/db is locked by another process"
echo "$out" | grep -qF "$want" ||
  fail "a running etcd's directory: $(echo "$out" | tail -2)"
[ -d "$tmp/src/member.etcd" ] || [ -f "$tmp/src/member/detcd-ids" ] && fail "a running etcd's directory was changed"
kill -TERM "$epid"
wait "$epid" 2>/dev/null
epid=""

# --- a stopped etcd's own data directory -------------------------------------------------------------------------
# Its WAL holds etcd's requests: those in the backend (up to its consistent index) come with it; after them, the
# restart above logged an election's empty entry and etcd's own v2 writes (publish, cluster version): applied here.
fresh_logs three
loopback_members 1
rm -rf "$tmp/m1"
cp -a "$tmp/src" "$tmp/m1"
"$detcd" --name=src --data-dir="$tmp/m1" --listen-client-urls="http://127.0.0.1:${cport[1]}" \
  --advertise-client-urls="http://127.0.0.1:${cport[1]}" --listen-peer-urls="http://127.0.0.1:$epeer" \
  --initial-advertise-peer-urls="http://127.0.0.1:$epeer" --initial-cluster="src=http://127.0.0.1:$epeer" \
  >>"$tmp/m1.log" 2>&1 &
pid[1]=$!
member_ready 1 && check_member 1
grep "import" "$tmp/m1.log" | tail -3

echo "$fails failures"
[ "$fails" = 0 ]
