#!/usr/bin/env bash
# python3-etcd3 (Debian) against detcd: KV, transactions, watch and leases through a third-party gRPC client.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
py=/usr/bin/python3  # Debian's interpreter, where python3-etcd3 is installed
"$py" -c 'import etcd3' 2>/dev/null || { echo "python3-etcd3 not installed"; exit 1; }
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$detcd" --data-dir="$tmp/data" --listen-client-urls="http://127.0.0.1:$port" \
  --advertise-client-urls="http://127.0.0.1:$port" --listen-peer-urls=http://127.0.0.1:0 >"$tmp/detcd.log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null' EXIT
for _ in $(seq 1 100); do grep -q "ready to serve client requests" "$tmp/detcd.log" && break; sleep 0.1; done

"$py" - "$port" <<'PY'
import sys, threading, time
import etcd3

c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), timeout=10)
failures = []
def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)

c.put("py/a", "1")
c.put("py/b", "2")
value, meta = c.get("py/a")
check(value == b"1", "get py/a: %r" % (value,))
check(meta.mod_revision >= 2, "mod revision %d" % meta.mod_revision)
check(sorted(v for v, _ in c.get_prefix("py/")) == [b"1", b"2"], "get_prefix")
ok, _ = c.transaction(compare=[c.transactions.value("py/a") == "1"],
                      success=[c.transactions.put("py/a", "3")], failure=[])
check(ok, "txn that holds")
ok, _ = c.transaction(compare=[c.transactions.value("py/a") == "1"],
                      success=[c.transactions.put("py/a", "4")], failure=[])
check(not ok, "txn that fails")
check(c.get("py/a")[0] == b"3", "txn result")
check(c.delete("py/b"), "delete")
check(c.get("py/b")[0] is None, "deleted key")

events, cancel = c.watch_prefix("w/")
def writer():
    time.sleep(0.5)
    c.put("w/1", "x")
    c.delete("w/1")
threading.Thread(target=writer).start()
got = []
for ev in events:
    got.append(type(ev).__name__)
    if len(got) == 2:
        cancel()
        break
check(got == ["PutEvent", "DeleteEvent"], "watch events: %r" % got)

lease = c.lease(30)
c.put("py/leased", "v", lease=lease)
check(lease.remaining_ttl > 0, "lease ttl")
lease.refresh()
check([k.decode() for k in lease.keys] == ["py/leased"], "lease keys: %r" % lease.keys)
lease.revoke()
check(c.get("py/leased")[0] is None, "revoked lease took its key")
st = c.status()
check(st.leader is not None, "status leader")
check(len(list(c.members)) == 1, "members")
print("%d failures" % len(failures))
sys.exit(1 if failures else 0)
PY
rc=$?
kill -TERM $pid
wait $pid
trap - EXIT
rm -rf "${tmp:?}"/* 2>/dev/null  # the member's data: the sandbox may outlive the test
exit $rc
