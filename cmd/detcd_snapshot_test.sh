#!/usr/bin/env bash
# The way from detcd to etcd: `etcdctl snapshot save` against detcd streams etcd 3.4's backend database (bbolt),
# `etcdctl snapshot status` reads it (revision, key count), `etcdctl snapshot restore` makes an etcd data directory
# of it, and Debian's etcd 3.4 started there serves the same keys, values, revisions, history since the compaction
# and leases as detcd did. Then auth (users, roles, a prefix permission, auth enabled) from detcd to etcd and, by
# etcd's snapshot, back to detcd. Stock etcdctl and etcd (Debian etcd-client, etcd-server) do all the checking.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
need_etcd

pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done' EXIT
# one_member LOG BINARY NAME DATA_DIR [SNAPSHOT]: a one-member cluster of BINARY (detcd or etcd, etcd's flags) on
# fresh loopback ports, its client URL in $url, its pid on pids; with SNAPSHOT, DATA_DIR is made from it first by
# `etcdctl snapshot restore` (which checks its SHA-256 trailer and rewrites the membership). The test ends at once if
# the member does not become ready (test_lib's start_detcd waits for it).
one_member() {
  local log=$1 bin=$2 name=$3 dir=$4 snap=${5:-} peer_url ready
  url="http://127.0.0.1:$(free_port)"
  peer_url="http://127.0.0.1:$(free_port)"
  if [ -n "$snap" ]; then
    etcdctl snapshot restore "$snap" --data-dir="$dir" --name="$name" --initial-cluster="$name=$peer_url" \
      --initial-advertise-peer-urls="$peer_url" >"$log.restore" 2>&1 ||
      fail "snapshot restore of $snap: $(tail -5 "$log.restore")"
  fi
  start_detcd "$log" "$bin" --name="$name" --data-dir="$dir" --listen-client-urls="$url" --advertise-client-urls="$url" \
    --listen-peer-urls="$peer_url" --initial-advertise-peer-urls="$peer_url" --initial-cluster="$name=$peer_url"
  ready=$?
  pids+=("$pid")
  [ $ready -eq 0 ] || { echo "$fails failures"; exit 1; }
}
stop_last() { kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null; unset 'pids[-1]'; }

one_member "$tmp/detcd.log" "$detcd" n1 "$tmp/detcd"
d=$url
ctl() { etcdctl --endpoints="$1" --command-timeout=10s "${@:2}"; }

# Revisions 2..10: versions, a tombstone, a lease, a compaction, 100 puts in one transaction (large values: many
# pages), a value larger than a bbolt page many times over, and a delete last (the newest version is a tombstone).
ctl "$d" put a 1 >/dev/null && ctl "$d" put b 2 >/dev/null && ctl "$d" put a 3 >/dev/null && ctl "$d" del b >/dev/null
lease=$(ctl "$d" lease grant 100 | awk '{print $2}')
ctl "$d" put l x --lease="$lease" >/dev/null || fail "put with a lease"
ctl "$d" compact 3 >/dev/null || fail "compact"
big=$(head -c 5000 /dev/zero | tr '\0' v)
ops=$(for i in $(seq -w 0 99); do echo "put big/$i $i$big"; done)
printf '\n%s\n\n\n' "$ops" | ctl "$d" txn | grep -q SUCCESS || fail "txn of 100 puts"
head -c 300000 /dev/zero | tr '\0' h | ctl "$d" put huge >/dev/null || fail "put of a 300 kB value"
ctl "$d" put c 4 >/dev/null && ctl "$d" del big/99 >/dev/null
rev=$(ctl "$d" get a -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
[ "$rev" = "10" ] || fail "detcd's revision: $rev, want 10"
ctl "$d" get "" --prefix -w json >"$tmp/detcd_all.json"
ctl "$d" get "" --prefix --rev=4 -w json >"$tmp/detcd_rev4.json"
ctl "$d" lease timetolive "$lease" --keys >"$tmp/detcd_lease.txt"

ctl "$d" snapshot save "$tmp/snap.db" >"$tmp/save.log" 2>&1 || fail "snapshot save: $(cat "$tmp/save.log")"
stop_last

# status opens the file with bbolt, runs tx.Check, walks every bucket; the revision is the "key" bucket's last key.
# Keys: 108 versions kept (a@2 b@3 a@4 b@5t l@6 big/*@7 huge@8 c@9 big/99@10t) + authRevision, clusterVersion,
# 1 lease, 1 member, consistent_index, scheduledCompactRev, finishedCompactRev.
status=$(etcdctl snapshot status "$tmp/snap.db" -w json 2>&1)
python3 - "$status" <<'PY' || fail "snapshot status: $status"
import json, sys
s = json.loads(sys.argv[1])
sys.exit(0 if s["revision"] == 10 and s["totalKey"] == 115 else 1)
PY

# restore checks the SHA-256 trailer and rewrites the membership for a new one-member etcd cluster.
one_member "$tmp/etcd.log" "$etcd_bin" e1 "$tmp/etcd" "$tmp/snap.db"
e=$url

ctl "$e" get "" --prefix -w json >"$tmp/etcd_all.json"
ctl "$e" get "" --prefix --rev=4 -w json >"$tmp/etcd_rev4.json"
same() {  # same FILE_A FILE_B: the same kvs (keys, values, revisions, versions, leases) and header revision
  python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ok = a["header"]["revision"] == b["header"]["revision"] and a.get("kvs") == b.get("kvs") and a["count"] == b["count"]
sys.exit(0 if ok and a["count"] > 0 else 1)
PY
}
same "$tmp/detcd_all.json" "$tmp/etcd_all.json" || fail "etcd serves other keys than detcd did"
same "$tmp/detcd_rev4.json" "$tmp/etcd_rev4.json" || fail "etcd serves another revision 4 than detcd did"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$tmp/etcd_all.json")" = "103" ] ||
  fail "etcd's key count: want a, l, big/00..98, huge, c"
ctl "$e" get a --rev=2 2>&1 | grep -q "required revision has been compacted" || fail "etcd lost the compaction"
[ "$(ctl "$e" get a --rev=3 --print-value-only)" = "1" ] || fail "etcd at revision 3 (the compaction)"
[ "$(ctl "$e" get huge --print-value-only | wc -c)" = "300001" ] || fail "the 300 kB value"
ctl "$e" lease timetolive "$lease" --keys | grep -q "granted with TTL(100s).*attached keys(\[l\])" ||
  fail "etcd's lease: $(ctl "$e" lease timetolive "$lease" --keys) (detcd: $(cat "$tmp/detcd_lease.txt"))"
out=$(ctl "$e" put d 5 -w json)
grep -q '"revision":11' <<<"$out" || fail "etcd's next write is not revision 11: $out"
stop_last

# --- auth goes along: detcd -> etcd -> detcd ------------------------------------------------------------------------
# Users (bcrypt hashes), roles, a prefix permission and the enabled flag travel in the auth buckets; each side checks
# them itself. check_auth URL WHO: auth is on there (no credentials refused), u may write the prefix foo, not bar.
check_auth() {
  local out
  ctl "$1" --user=u:upw put foo1 x >/dev/null || fail "$2: u may not write foo1"
  out=$(ctl "$1" --user=u:upw put bar x 2>&1) && fail "$2: u wrote bar"
  grep -q "permission denied" <<<"$out" || fail "$2: u writing bar: $out"
  ctl "$1" get foo1 2>&1 | grep -q "user name is empty" || fail "$2: auth is not enabled: $(ctl "$1" get foo1 2>&1)"
}
one_member "$tmp/detcd_auth.log" "$detcd" a1 "$tmp/detcd_auth"
d=$url
{ ctl "$d" user add root:rootpw && ctl "$d" user grant-role root root && ctl "$d" role add r &&
  ctl "$d" role grant-permission --prefix r readwrite foo && ctl "$d" user add u:upw && ctl "$d" user grant-role u r &&
  ctl "$d" auth enable; } >"$tmp/auth_setup.log" 2>&1 || fail "auth on detcd: $(tail -3 "$tmp/auth_setup.log")"
check_auth "$d" detcd
ctl "$d" snapshot save "$tmp/auth_x.db" >/dev/null 2>&1 && fail "snapshot save without credentials (admin only)"
ctl "$d" --user=root:rootpw snapshot save "$tmp/auth.db" >"$tmp/save_auth.log" 2>&1 ||
  fail "snapshot save --user root: $(tail -3 "$tmp/save_auth.log")"
stop_last

one_member "$tmp/etcd_auth.log" "$etcd_bin" e1 "$tmp/etcd_auth" "$tmp/auth.db"
e=$url
check_auth "$e" etcd
# etcd adds to it (a user whose bcrypt hash etcd makes, a permission on one key), and the way back takes it all.
{ ctl "$e" --user=root:rootpw user add v:vpw && ctl "$e" --user=root:rootpw user grant-role v r &&
  ctl "$e" --user=root:rootpw role grant-permission r readwrite baz; } >"$tmp/auth_etcd.log" 2>&1 ||
  fail "auth changes on etcd: $(tail -3 "$tmp/auth_etcd.log")"
ctl "$e" --user=root:rootpw snapshot save "$tmp/auth2.db" >"$tmp/save_auth2.log" 2>&1 ||
  fail "etcd snapshot save --user root: $(tail -3 "$tmp/save_auth2.log")"
stop_last

one_member "$tmp/detcd_auth2.log" "$detcd" a2 "$tmp/detcd_auth2" "$tmp/auth2.db"
d=$url
check_auth "$d" "detcd from etcd"
ctl "$d" --user=v:vpw put baz x >/dev/null || fail "detcd from etcd: etcd's user v (its bcrypt hash) may not write baz"
[ "$(ctl "$d" --user=u:upw get foo1 --print-value-only)" = x ] || fail "detcd from etcd: foo1 (written on etcd) lost"
stop_last

[ $fails -eq 0 ] && echo "PASS" || echo "$fails failures"
exit $((fails > 0))
