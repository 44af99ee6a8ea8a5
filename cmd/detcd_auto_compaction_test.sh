#!/usr/bin/env bash
# etcd's periodic auto-compaction on the detcd binary (--auto-compaction-retention=1s, so a retention passes within
# the test): history older than the retention goes (a read at an old revision gets etcd's compacted error, and the
# member logs etcd's lines), history younger than it stays readable, and the member serves on.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
command -v etcdctl >/dev/null || { echo "etcdctl not installed (Debian etcd-client)"; exit 1; }

port=$(free_port)
peer_port=$(free_port)
ep="http://127.0.0.1:$port"
ctl() { etcdctl --endpoints="$ep" --command-timeout=10s "$@"; }
"$detcd" --name=n1 --data-dir="$tmp/data" --listen-client-urls="$ep" --advertise-client-urls="$ep" \
  --listen-peer-urls="http://127.0.0.1:$peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
  --initial-cluster="n1=http://127.0.0.1:$peer_port" --auto-compaction-mode=periodic \
  --auto-compaction-retention=1s >"$tmp/detcd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q "ready to serve client requests" "$tmp/detcd.log" && break
  sleep 0.1
done
# Writes for 3 s: revisions 2.. (one a write).
end=$((SECONDS + 3))
while [ $SECONDS -lt $end ]; do ctl put k "v$SECONDS" >/dev/null || fail "put"; sleep 0.05; done
rev=$(ctl get k -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
recent=$(ctl get k --rev="$rev" --print-value-only 2>&1) || fail "the newest revision is not readable: $recent"
sleep 1.5  # a retention and a compaction interval
out=$(ctl get k --rev=2 2>&1)
grep -q "required revision has been compacted" <<<"$out" || fail "revision 2 is still readable 1.5 s past a 1 s retention: $out"
grep -q "Starting auto-compaction at revision [0-9]* (retention: 1s)" "$tmp/detcd.log" || fail "no start line: $(cat "$tmp/detcd.log")"
grep -q "Finished auto-compaction at revision" "$tmp/detcd.log" || fail "no finish line"
# Nothing younger than the retention goes: a revision written 0.6 s ago (compactions going on meanwhile) is readable.
young=$(ctl put k young -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
end=$((SECONDS + 2))
while [ $SECONDS -lt $end ]; do  # 0.6 s of writes
  ctl put k more >/dev/null || fail "put"
  now=$(date +%s%N)
  [ -z "${start_ns:-}" ] && start_ns=$now
  [ $((now - start_ns)) -ge 600000000 ] && break
  sleep 0.05
done
out=$(ctl get k --rev="$young" --print-value-only 2>&1)
[ "$out" = "young" ] || fail "revision $young, written 0.6 s ago, is not readable with a 1 s retention: $out"
[ "$(ctl put after compaction)" = "OK" ] || fail "put after compaction"
kill -TERM $pid
wait $pid

rm -rf "${tmp:?}"/* 2>/dev/null  # the member's data: the sandbox may outlive the test
echo "$fails failures"
[ $fails -eq 0 ]
