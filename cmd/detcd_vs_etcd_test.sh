#!/usr/bin/env bash
# detcd answers stock etcdctl and the JSON gateway as etcd 3.4 does: Debian's etcd and detcd, one member each, get the
# same requests in the same order (keys, versions, txns, deletes, compactions, leases, watches from past revisions,
# HashKV, errors of every kind, gateway errors and headers), and every answer must be the same once what differs by
# nature is masked (cluster and member ids, lease ids chosen by the server, ports, timestamps, the version string).
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"
detcd="$1"
need_etcd

trap 'kill -TERM ${epid:-} ${dpid:-} 2>/dev/null' EXIT
start() {  # start NAME BINARY: one member on free ports; sets NAME_url and NAME_pid
  local name=$1 bin=$2 c p _
  c=$(free_port)
  p=$(free_port)
  "$bin" --name=n1 --data-dir="$tmp/$name" --listen-client-urls="http://127.0.0.1:$c" \
    --advertise-client-urls="http://127.0.0.1:$c" --listen-peer-urls="http://127.0.0.1:$p" \
    --initial-advertise-peer-urls="http://127.0.0.1:$p" --initial-cluster="n1=http://127.0.0.1:$p" \
    >"$tmp/$name.log" 2>&1 &
  eval "${name}_pid=$!; ${name}_url=http://127.0.0.1:$c"
  for _ in $(seq 1 150); do
    grep -q "ready to serve client requests" "$tmp/$name.log" && return 0
    sleep 0.1
  done
  fail "$name did not start: $(tail -5 "$tmp/$name.log")"
  exit 1
}
start e "$etcd_bin"
start d "$detcd"
epid=$e_pid
dpid=$d_pid

# What differs by nature: ids, ports, times, the version string, etcdctl's client-side retry warnings.
mask() {
  grep -v '"level":"warn"' | sed -E \
    -e 's/"(cluster_id|member_id|ID|leader)":"?[0-9]+"?/"\1":N/g' \
    -e 's/(cluster_id|member_id|leader|raft_term):[0-9]+/\1:N/g' \
    -e 's/[0-9a-f]{16}/ID/g' -e 's/127\.0\.0\.1:[0-9]+/ADDR/g' -e 's/"version":"3\.4\.[0-9]+"/"version":V/' \
    -e 's/took = [0-9.]+[µm]?s/took/'
}
n=0
same() {  # same ARGS...: etcdctl ARGS against both; one failure per difference
  local a b
  n=$((n + 1))
  a=$(etcdctl --endpoints="$e_url" --command-timeout=10s "$@" 2>&1 | mask; echo "rc=${PIPESTATUS[0]}")
  b=$(etcdctl --endpoints="$d_url" --command-timeout=10s "$@" 2>&1 | mask; echo "rc=${PIPESTATUS[0]}")
  [ "$a" = "$b" ] || fail "etcdctl $*: etcd answered
$a
detcd answered
$b"
}
same_in() {  # same_in INPUT ARGS...: the same with INPUT on standard input (txn)
  local in=$1 a b
  shift
  n=$((n + 1))
  a=$(printf '%s' "$in" | etcdctl --endpoints="$e_url" "$@" 2>&1 | mask; echo "rc=${PIPESTATUS[1]}")
  b=$(printf '%s' "$in" | etcdctl --endpoints="$d_url" "$@" 2>&1 | mask; echo "rc=${PIPESTATUS[1]}")
  [ "$a" = "$b" ] || fail "etcdctl $* <<< $in: etcd answered
$a
detcd answered
$b"
}
same_http() {  # same_http PATH BODY: a JSON gateway POST against both (status line and body)
  local a b
  n=$((n + 1))
  a=$(curl -s -m 5 -w ' %{http_code}' -X POST "$e_url$1" -d "$2" | mask)
  b=$(curl -s -m 5 -w ' %{http_code}' -X POST "$d_url$1" -d "$2" | mask)
  [ "$a" = "$b" ] || fail "POST $1 $2: etcd answered $a, detcd answered $b"
}
same_watch() {  # same_watch ARGS...: etcdctl watch ARGS for a second against both (what arrived by then)
  local a b
  n=$((n + 1))
  a=$(timeout 1.5 etcdctl --endpoints="$e_url" watch "$@" 2>&1 | mask)
  b=$(timeout 1.5 etcdctl --endpoints="$d_url" watch "$@" 2>&1 | mask)
  [ "$a" = "$b" ] || fail "etcdctl watch $*: etcd answered
$a
detcd answered
$b"
}

same endpoint hashkv
same put foo bar
same put foo bar2 --prev-kv
same get foo -w json
for k in a b c d; do same put "$k" "v$k"; done
same get a e --limit=2 -w json
same get a e --sort-by=VALUE --order=DESCEND
same get a --prefix --keys-only
same get a --from-key --count-only
same get a e --rev=3 -w json
same get foo --rev=100
same del a
same del b c --prev-kv -w json
same del zzz
same_in $'value("foo") = "bar2"\n\nput foo ok\n\nput foo fail\n\n' txn -w json
same_in $'mod("foo") > "0"\nversion("nokey") = "0"\n\nget foo\n\n\n' txn
same_in $'value("nokey") = ""\n\n\nget foo\n\n' txn
same_in $'\n\nput t1 1\nput t2 ""\ndel d\n\n' txn -w json
same endpoint hashkv
same endpoint hashkv --rev=3
same compaction 4
same compaction 4
same compaction 1000
same get foo --rev=3
same endpoint hashkv
same endpoint hashkv --rev=4
same endpoint hashkv --rev=5
same_watch foo --rev=4
same_watch foo --rev=3
same_watch --prefix t --rev=5 -w json
same_watch foo --rev=5 --prev-kv
same lease grant 30
same lease revoke 1234
same lease timetolive 1234
same put k v --lease=1234
same put "" empty
same get ""
same move-leader 1234
same alarm list -w json
same alarm disarm
same member add bad --peer-urls=notaurl
same member remove 1234
same member promote 1234
same user add u1:p1
same user add u1:p1
same role add r1
same role grant-permission r1 readwrite k --prefix
same role get r1
same user grant-role u1 r1
same user get u1 --detail
same user delete nobody
same auth enable
same_http /v3/kv/range ''
same_http /v3/kv/range '{"key":"Zm9v","revision":"99"}'
same_http /v3/kv/put '{"key":"Zm9v","value":"YmFy"}'
same_http /v3/kv/txn '{"success":[{"request_txn":{"success":[{"request_put":{"key":"Yg==","value":"MQ=="}},{"request_txn":{}}]}}]}'
same_http /v3/kv/lease/revoke '{"ID":"1234"}'
same_http /v3/lease/grant '{"TTL":"30","ID":"77"}'
same_http /v3/lease/grant '{"TTL":"30","ID":"77"}'
same_http /v3/kv/lease/leases '{}'
same_http /v3/maintenance/alarm '{"action":"GET"}'
# Maintenance.Hash hashes etcd's whole bbolt file, which detcd does not have: only its shape is etcd's.
n=$((n + 1))
a=$(curl -s -m 5 -X POST "$e_url/v3/maintenance/hash" -d '{"revision":"3"}' | mask | sed -E 's/"hash":[0-9]+/"hash":H/')
b=$(curl -s -m 5 -X POST "$d_url/v3/maintenance/hash" -d '{"revision":"3"}' | mask | sed -E 's/"hash":[0-9]+/"hash":H/')
[ "$a" = "$b" ] || fail "POST /v3/maintenance/hash: etcd answered $a, detcd answered $b"
same_http /v3/kv/compaction '{"revision":"2"}'
same_http /v3/maintenance/defragment '{}'
same_http /v3/kv/put '{"key":"bm9rZXk=","ignore_value":true}'
same_http /v3/kv/put '{"key":"bm9rZXk=","value":"eA==","ignore_value":true}'
same_http /v3/kv/put '{"key":"bm9rZXk=","lease":"5","ignore_lease":true}'
same_http /v3/kv/range '{"key":"YQ==","range_end":"AA==","min_mod_revision":"3","keys_only":true}'
same_http /v3/kv/range '{"key":"YQ==","range_end":"eg==","limit":"1","sort_order":"DESCEND"}'
same_http /v3/kv/txn '{"compare":[{"key":"Zm9v","target":"VERSION","result":"GREATER","version":"50"}],"failure":[{"request_delete_range":{"key":"Zm9v","prev_kv":true}}]}'
same_http /v3/kv/txn '{"success":[{"request_put":{"key":"YQ=="}},{"request_delete_range":{"key":"YQ=="}}]}'
same_http /v3/lock/unlock '{"key":"bm9uZQ=="}'
same_http /v3/election/leader '{"name":"ZQ=="}'
same_http /v3/auth/role/get '{"role":"nope"}'
same_http /v3/auth/user/changepw '{"name":"nope","password":"x"}'
# Last: a TTL under the minimum is raised to it (2 s here), and such a lease is gone soon after (on its own clock on
# each server, so nothing compared afterwards may depend on it).
same lease grant 0
echo "$n requests compared"
echo "$fails failures"
[ "$fails" -eq 0 ]
