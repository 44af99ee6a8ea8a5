#!/usr/bin/env bash
# detcd as a user runs it: start the binary with etcd's flags on a free loopback port, point stock etcdctl 3.4 (Debian
# etcd-client) at it, and check what etcdctl prints — put/get/del with prefixes, txn, watch (live and from a past
# revision), leases with attached keys, compaction, endpoint status and health, member list — then stop it with
# SIGTERM, start it again on the same data directory and find the data still there. Also: a bad flag exits non-zero
# before anything is written, and a second process on the same data directory is refused.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
command -v etcdctl >/dev/null || { echo "etcdctl not installed (Debian etcd-client)"; exit 1; }

port=$(free_port)
peer_port=$(free_port)
ep="http://127.0.0.1:$port"
ctl() { etcdctl --endpoints="$ep" --command-timeout=10s "$@"; }
data="$tmp/data"
start() {
  start_detcd "$tmp/detcd.log" "$detcd" --name=n1 --data-dir="$data" --listen-client-urls="$ep" \
    --advertise-client-urls="$ep" --listen-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls=http://127.0.0.1:2380 --initial-cluster=n1=http://127.0.0.1:2380
}
stop() { stop_detcd; }

# A bad flag: etcd's message, exit code 2, nothing written.
out=$("$detcd" --data-dir="$tmp/bad" --election-timeout=x 2>&1)
rc=$?
[ $rc -eq 2 ] || fail "bad flag exited $rc, want 2"
grep -q 'invalid value "x" for flag -election-timeout' <<<"$out" || fail "bad flag message: $out"
[ ! -e "$tmp/bad" ] || fail "a bad flag still created the data directory"

start || { echo "$fails failures"; exit 1; }

[ "$(ctl put foo bar)" = "OK" ] || fail "put"
[ "$(ctl get foo --print-value-only)" = "bar" ] || fail "get: $(ctl get foo)"
ctl put foo/a 1 >/dev/null && ctl put foo/b 2 >/dev/null && ctl put fop 3 >/dev/null
[ "$(ctl get foo/ --prefix --keys-only | grep -c .)" = "2" ] || fail "prefix get: $(ctl get foo/ --prefix)"
[ "$(ctl get foo fop --keys-only | grep -c .)" = "3" ] || fail "range get [foo, fop): $(ctl get foo fop --keys-only)"
[ "$(ctl del foo/ --prefix)" = "2" ] || fail "del --prefix"
rev=$(ctl get foo -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
[ "$rev" = "6" ] || fail "revision after 4 puts and a delete of 2 keys: $rev"

# txn: compare-and-swap that holds, then one that does not.
out=$(printf 'value("foo") = "bar"\n\nput foo baz\n\nput foo nope\n\n' | ctl txn)
grep -q SUCCESS <<<"$out" || fail "txn that holds: $out"
out=$(printf 'value("foo") = "bar"\n\nput foo again\n\nget foo\n\n' | ctl txn)
grep -q FAILURE <<<"$out" || fail "txn that fails: $out"
[ "$(ctl get foo --print-value-only)" = "baz" ] || fail "txn result: $(ctl get foo)"

# watch: from a past revision (replays), and live.
timeout 5 etcdctl --endpoints="$ep" watch foo --rev=1 >"$tmp/watch_past.txt" 2>&1 &
wpast=$!
timeout 5 etcdctl --endpoints="$ep" watch w --prefix >"$tmp/watch_live.txt" 2>&1 &
wlive=$!
sleep 1
ctl put w/1 x >/dev/null && ctl put w/2 y >/dev/null && ctl del w/1 >/dev/null
wait $wpast $wlive
grep -q '^bar$' "$tmp/watch_past.txt" || fail "watch --rev=1 did not replay the first put: $(cat "$tmp/watch_past.txt")"
grep -q '^baz$' "$tmp/watch_past.txt" || fail "watch --rev=1 did not replay the txn's put: $(cat "$tmp/watch_past.txt")"
[ "$(grep -c '^PUT$' "$tmp/watch_live.txt")" = "2" ] || fail "live watch puts: $(cat "$tmp/watch_live.txt")"
[ "$(grep -c '^DELETE$' "$tmp/watch_live.txt")" = "1" ] || fail "live watch delete: $(cat "$tmp/watch_live.txt")"

# leases: grant, attach, keep-alive once, revoke deletes the key.
# No lease yet: an empty list (this once took the member down).
ctl lease list | grep -q "found 0 leases" || fail "empty lease list: $(ctl lease list 2>&1)"
lease=$(ctl lease grant 60 | awk '{print $2}')
[ -n "$lease" ] || fail "lease grant"
ctl put leased v --lease="$lease" >/dev/null || fail "put with lease"
ctl lease keep-alive --once "$lease" | grep -q "keepalived with TTL" || fail "keep-alive --once"
ctl lease timetolive "$lease" --keys | grep -q leased || fail "timetolive --keys: $(ctl lease timetolive "$lease" --keys)"
ctl lease list | grep -q "$lease" || fail "lease list"
ctl lease revoke "$lease" | grep -q revoked || fail "lease revoke"
[ -z "$(ctl get leased)" ] || fail "revoking the lease left its key"

# compaction: a read below it is refused with etcd's message.
ctl compaction 3 | grep -q "compacted revision 3" || fail "compaction"
out=$(ctl get foo --rev=2 2>&1)
grep -q "required revision has been compacted" <<<"$out" || fail "read below compaction: $out"

# The same port speaks HTTP/1.1: the JSON gateway, /health, /version, /metrics; garbage gets a 400.
out=$(curl -s -X POST "$ep/v3/kv/range" -d '{"key":"Zm9v"}')
grep -q '"value":"YmF6"' <<<"$out" || fail "gateway range: $out"
grep -q '"revision":"[0-9]*"' <<<"$out" || fail "gateway: 64-bit integers as strings: $out"
[ "$(curl -s "$ep/health")" = '{"health":"true"}' ] || fail "/health: $(curl -s "$ep/health")"
curl -s "$ep/version" | grep -q '"etcdserver":"3.4' || fail "/version: $(curl -s "$ep/version")"
curl -s "$ep/metrics" | grep -q '^etcd_server_has_leader 1$' || fail "/metrics: no etcd_server_has_leader 1"
# What dashboards for etcd graph: the gRPC calls etcdctl made (counted by the front end, with their codes), the store's
# operations, the proposals; and Go's expvar page as etcd serves it.
curl -s "$ep/metrics" >"$tmp/metrics.txt"
for pattern in '^grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} [1-9]' \
    '^grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} [1-9]' \
    '^grpc_server_msg_sent_total{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} [1-9]' \
    '^grpc_server_msg_received_total{grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"} 2$' \
    '^etcd_mvcc_put_total [1-9]' '^etcd_mvcc_range_total [1-9]' '^etcd_mvcc_delete_total [1-9]' '^etcd_mvcc_txn_total [0-9]' \
    '^etcd_debugging_mvcc_keys_total [1-9]' '^etcd_debugging_mvcc_watcher_total 0$' '^etcd_server_proposals_pending 0$' \
    '^etcd_server_proposals_failed_total 0$' '^etcd_server_quota_backend_bytes 2.147483648e+09$' \
    '^etcd_debugging_mvcc_db_total_size_in_bytes [1-9]' '^etcd_server_heartbeat_send_failures_total 0$'; do
  grep -q "$pattern" "$tmp/metrics.txt" || fail "/metrics: nothing matches $pattern"
done
curl -s "$ep/debug/vars" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["raft.status"]["raftState"] == "StateLeader", d; assert "--data-dir" in " ".join(d["cmdline"]), d' \
  || fail "/debug/vars: $(curl -s "$ep/debug/vars")"
# gRPC's health service, as etcd serves it (what load balancers and Kubernetes' gRPC probes ask): "" is SERVING.
health=$(/usr/bin/python3 - "${ep#http://}" 2>&1 <<'PY'
import grpc, sys
with grpc.insecure_channel(sys.argv[1]) as ch:
    print(ch.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=5).hex())  # HealthCheckRequest{service: ""}
PY
)
[ "$health" = "0801" ] || fail "grpc.health.v1.Health/Check: want status SERVING (0801), got: $health"
# ... counted as etcd counts it (its series are there from the start, as for etcd's own services).
curl -s "$ep/metrics" | grep -q '^grpc_server_handled_total{grpc_code="OK",grpc_method="Check",grpc_service="grpc.health.v1.Health",grpc_type="unary"} 1$' ||
  fail "/metrics: the health check not counted: $(curl -s "$ep/metrics" | grep grpc.health)"
curl -s "$ep/metrics" | grep -q '^grpc_server_started_total{grpc_method="Watch",grpc_service="grpc.health.v1.Health",grpc_type="server_stream"} 0$' ||
  fail "/metrics: no health Watch series"
out=$(curl -s -X POST "$ep/v3/lock/lock" -d '{"name":"Z3ctbG9jaw=="}')  # "gw-lock"
key=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["key"])' "$out" 2>/dev/null)
[ -n "$key" ] || fail "gateway lock: $out"
curl -s -X POST "$ep/v3/lock/unlock" -d "{\"key\":\"$key\"}" | grep -q '"header"' || fail "gateway unlock"
# An election: etcdctl elect campaigns and holds leadership; etcdctl elect -l and the gateway's observe stream see it.
ctl elect gw-elect proposal1 >"$tmp/elect.out" 2>&1 &
elector=$!
for _ in $(seq 1 50); do grep -q "proposal1" "$tmp/elect.out" && break; sleep 0.1; done
grep -q "^gw-elect/" "$tmp/elect.out" || fail "etcdctl elect: $(cat "$tmp/elect.out")"
timeout 3 etcdctl --endpoints="$ep" elect -l gw-elect >"$tmp/observe.out" 2>&1
grep -q "proposal1" "$tmp/observe.out" || fail "etcdctl elect -l: $(cat "$tmp/observe.out")"
out=$(curl -s -N --max-time 2 -X POST "$ep/v3/election/observe" -d '{"name":"Z3ctZWxlY3Q="}')  # "gw-elect"
grep -q '"result":{"header".*"value":"cHJvcG9zYWwx"' <<<"$out" || fail "gateway observe: $out"  # "proposal1"
kill -9 "$elector" 2>/dev/null  # a background job ignores SIGINT; its lease expires on its own
wait "$elector" 2>/dev/null
out=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$ep/v3/kv/range" -d '{"key":')
[ "$out" = "400" ] || fail "malformed JSON: HTTP $out"
out=$(printf 'GARBAGE\x01\x02 \r\n\r\n' | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
print(s.recv(100).decode(errors="replace").splitlines()[0])' "$port")
grep -q "^HTTP/1.1 400" <<<"$out" || fail "garbage on the client port: $out"
[ "$(ctl get foo --print-value-only)" = "baz" ] || fail "the member still serves after garbage"

# Bad input is refused with etcd's errors and costs nothing: an oversized request, too many txn ops, garbage and a
# truncated frame on the peer port.
out=$(head -c 2000000 /dev/zero | tr '\0' x | ctl put big 2>&1)
grep -q "request is too large\|larger than max\|trying to send message larger" <<<"$out" || fail "oversized put: $out"
ops=$(for i in $(seq 1 129); do echo "put k$i v"; done)
out=$(printf '\n%s\n\n\n' "$ops" | ctl txn 2>&1)
grep -q "too many operations in txn request" <<<"$out" || fail "129 txn ops: $out"
python3 - "$peer_port" <<'PY'
import socket, sys
for payload in (b"GET / HTTP/1.1\r\n\r\n" + b"\xff" * 100, b"detcd-peer-1" + b"\x00" * 5):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(payload)
    s.close()
PY
[ "$(ctl get foo --print-value-only)" = "baz" ] || fail "the member still serves after garbage on the peer port"

# snapshot save: etcd's stream, ending with a SHA-256 of what came before it; before it, etcd's backend database,
# which snapshot status reads (cmd/detcd_snapshot_test.sh restores one into etcd).
snap_rev=$(ctl get foo -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
ctl snapshot save "$tmp/snap.db" | grep -q "Snapshot saved at" || fail "snapshot save"
python3 - "$tmp/snap.db" <<'PY' || fail "snapshot file does not end with the SHA-256 of its contents"
import hashlib, sys
b = open(sys.argv[1], "rb").read()
sys.exit(0 if len(b) > 32 and hashlib.sha256(b[:-32]).digest() == b[-32:] else 1)
PY
status=$(etcdctl snapshot status "$tmp/snap.db" -w json 2>&1)
python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["revision"] == int(sys.argv[2]) else 1)' \
  "$status" "$snap_rev" 2>/dev/null || fail "snapshot status: $status (revision $snap_rev)"

# status, health, members.
ctl endpoint status -w json | grep -q '"leader"' || fail "endpoint status: $(ctl endpoint status -w json)"
ctl endpoint health 2>&1 | grep -q "is healthy" || fail "endpoint health: $(ctl endpoint health 2>&1)"
ctl member list | grep -q "started, n1, http://127.0.0.1:2380, $ep" || fail "member list: $(ctl member list)"

# A second process on the same data directory is refused.
out=$("$detcd" --data-dir="$data" --listen-client-urls=http://127.0.0.1:0 --advertise-client-urls=http://127.0.0.1:1 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "a second process on the same data directory started"
grep -q "locked" <<<"$out" || fail "second process message: $out"

# Restart on the same data directory: the data is still there.
stop
start || { echo "$fails failures"; exit 1; }
[ "$(ctl get foo --print-value-only)" = "baz" ] || fail "after restart: $(ctl get foo)"
[ "$(ctl get fop --print-value-only)" = "3" ] || fail "after restart: $(ctl get fop)"
stop
grep -q "received terminated signal" "$tmp/detcd.log" || fail "no shutdown line: $(tail -3 "$tmp/detcd.log")"

# A corrupt WAL: the member refuses to start and names the file and the offset.
seg=$(ls "$data"/member/wal/*.wal | head -1)
printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of="$seg" bs=1 seek=300 conv=notrunc 2>/dev/null
"$detcd" --name=n1 --data-dir="$data" --listen-client-urls="$ep" --advertise-client-urls="$ep" \
  --listen-peer-urls="http://127.0.0.1:$peer_port" --initial-advertise-peer-urls=http://127.0.0.1:2380 \
  --initial-cluster=n1=http://127.0.0.1:2380 >"$tmp/corrupt.log" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "started on a corrupt WAL"
grep -q "\.wal.* offset [0-9]" "$tmp/corrupt.log" || fail "corrupt WAL message: $(cat "$tmp/corrupt.log")"

rm -rf "${tmp:?}"/* 2>/dev/null  # the members' data: the sandbox may outlive the test
echo "$fails failures"
[ $fails -eq 0 ]
