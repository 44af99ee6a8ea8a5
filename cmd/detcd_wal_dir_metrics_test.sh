#!/usr/bin/env bash
# etcd's --wal-dir and --listen-metrics-urls on the detcd binary: the WAL segments go to --wal-dir (snapshots stay
# under the data dir), the metrics port answers /metrics and /health and nothing else (no gateway, no gRPC), an https
# metrics URL without a client certificate is refused clearly, and a restart with the same flags finds the data.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
command -v etcdctl >/dev/null || { echo "etcdctl not installed (Debian etcd-client)"; exit 1; }

port=$(free_port)
peer_port=$(free_port)
metrics_port=$(free_port)
ep="http://127.0.0.1:$port"
metrics="http://127.0.0.1:$metrics_port"
ctl() { etcdctl --endpoints="$ep" --command-timeout=10s "$@"; }
data="$tmp/data"
wal="$tmp/wal"
run() {  # exec: in a subshell (& or $(...)), so $! is detcd itself
  exec "$detcd" --name=n1 --data-dir="$data" --wal-dir="$wal" --listen-client-urls="$ep" --advertise-client-urls="$ep" \
    --listen-peer-urls="http://127.0.0.1:$peer_port" --initial-advertise-peer-urls=http://127.0.0.1:2380 \
    --initial-cluster=n1=http://127.0.0.1:2380 "$@"
}
start() { start_detcd "$tmp/detcd.log" run --listen-metrics-urls="$metrics"; }
stop() { stop_detcd; }

# An https metrics URL without a client certificate: refused before anything is written (etcd's words).
out=$(run --listen-metrics-urls="https://127.0.0.1:$metrics_port" 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "an https metrics URL without a certificate was accepted"
grep -q "cannot listen on TLS for 127.0.0.1:$metrics_port: KeyFile and CertFile are not presented" <<<"$out" ||
  fail "https metrics URL message: $out"
[ ! -e "$data" ] && [ ! -e "$wal" ] || fail "a refused https metrics URL still created directories"

start || { echo "$fails failures"; exit 1; }
grep -q "dedicated WAL dir = $wal" "$tmp/detcd.log" || fail "no dedicated WAL dir line: $(cat "$tmp/detcd.log")"
grep -q "listening for metrics on $metrics" "$tmp/detcd.log" || fail "no metrics line: $(cat "$tmp/detcd.log")"

[ "$(ctl put foo bar)" = "OK" ] || fail "put"
[ "$(ctl get foo --print-value-only)" = "bar" ] || fail "get: $(ctl get foo)"

# The metrics port: /metrics and /health, nothing else.
curl -s "$metrics/metrics" | grep -q '^etcd_server_has_leader 1$' || fail "metrics port /metrics: no etcd_server_has_leader 1"
[ "$(curl -s "$metrics/health")" = '{"health":"true"}' ] || fail "metrics port /health: $(curl -s "$metrics/health")"
out=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$metrics/v3/kv/range" -d '{"key":"Zm9v"}')
[ "$out" = "404" ] || fail "metrics port /v3/kv/range: HTTP $out, want 404"
out=$(curl -s -o /dev/null -w '%{http_code}' "$metrics/version")
[ "$out" = "404" ] || fail "metrics port /version: HTTP $out, want 404"
out=$(etcdctl --endpoints="$metrics" --command-timeout=3s --dial-timeout=2s get foo 2>&1)
[ $? -ne 0 ] || fail "gRPC served on the metrics port: $out"
# The client port still serves the whole gateway.
curl -s -X POST "$ep/v3/kv/range" -d '{"key":"Zm9v"}' | grep -q '"value":"YmFy"' || fail "client port gateway range"

# The WAL is in --wal-dir, the snapshots' directory under the data dir, no WAL there.
ls "$wal"/*.wal >/dev/null 2>&1 || fail "no WAL segment in --wal-dir: $(ls -la "$wal" 2>&1)"
[ ! -e "$data/member/wal" ] || fail "a WAL directory under the data dir: $(ls -la "$data/member/wal")"
[ -d "$data/member" ] || fail "no member directory under the data dir"

# A second process on the same data directory with another --wal-dir is refused.
out=$("$detcd" --data-dir="$data" --wal-dir="$tmp/other-wal" --listen-client-urls=http://127.0.0.1:0 \
  --advertise-client-urls=http://127.0.0.1:1 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "a second process on the same data directory started"
grep -q "locked" <<<"$out" || fail "second process message: $out"

# Restart with the same flags: the data comes back from --wal-dir.
stop
start || { echo "$fails failures"; exit 1; }
[ "$(ctl get foo --print-value-only)" = "bar" ] || fail "after restart: $(ctl get foo)"
curl -s "$metrics/metrics" | grep -q '^etcd_server_has_leader 1$' || fail "after restart: no etcd_server_has_leader 1"
stop

rm -rf "${tmp:?}"/* 2>/dev/null  # the members' data: the sandbox may outlive the test
echo "$fails failures"
[ $fails -eq 0 ]
