#!/usr/bin/env bash
# etcd 3.4's flags as its own tooling passes them, on the detcd binary: every flag of etcd's --help at its default
# starts a member that serves etcdctl; the settings detcd honours do what etcd's do (--log-outputs and --logger=zap
# to stdout and a file, --log-level dropping info lines, --experimental-watch-progress-notify-interval sending
# progress notifications to the watchers that asked); the settings whose feature detcd lacks are refused when turned
# on, on the command line and as ETCD_* variables, before anything is written, with the feature named.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
command -v etcdctl >/dev/null || { echo "etcdctl not installed (Debian etcd-client)"; exit 1; }

port=$(free_port)
peer_port=$(free_port)
ep="http://127.0.0.1:$port"
ctl() { etcdctl --endpoints="$ep" --command-timeout=10s "$@"; }
data="$tmp/data"
run() {  # exec: in a subshell (& or $(...)), so $! is detcd itself
  exec "$detcd" --name=n1 --data-dir="$data" --listen-client-urls="$ep" --advertise-client-urls="$ep" \
    --listen-peer-urls="http://127.0.0.1:$peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-cluster="n1=http://127.0.0.1:$peer_port" "$@"
}
# start LOG ARGS...: waits until etcdctl can put (the ready line may be filtered out by the log level).
start() {
  local log=$1
  shift
  run "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    etcdctl --endpoints="$ep" --command-timeout=1s --dial-timeout=1s put ready yes >/dev/null 2>&1 && return 0
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  fail "detcd did not start: $(cat "$log")"
  return 1
}
stop() { kill -TERM $pid; wait $pid; }

# Every flag of etcd 3.4.23's --help (but those above and the URL lists), at etcd's default.
defaults=(--wal-dir= --snapshot-count=100000 --heartbeat-interval=100 --election-timeout=1000
  --initial-election-tick-advance=true --max-snapshots=5 --max-wals=5 --quota-backend-bytes=0
  --backend-batch-interval=0 --backend-batch-limit=0 --max-txn-ops=128 --max-request-bytes=1572864
  --max-concurrent-streams=4294967295 --grpc-keepalive-min-time=5s --grpc-keepalive-interval=2h
  --grpc-keepalive-timeout=20s --initial-cluster-state=new --initial-cluster-token=etcd-cluster --discovery=
  --discovery-fallback=proxy --discovery-proxy= --discovery-srv= --discovery-srv-name= --strict-reconfig-check=true
  --pre-vote=false --auto-compaction-retention=0 --auto-compaction-mode=periodic --enable-v2=false --cert-file=
  --key-file= --client-cert-auth=false --client-crl-file= --client-cert-allowed-hostname= --trusted-ca-file=
  --auto-tls=false --peer-cert-file= --peer-key-file= --peer-client-cert-auth=false --peer-trusted-ca-file=
  --peer-cert-allowed-cn= --peer-cert-allowed-hostname= --peer-auto-tls=false --peer-crl-file= --cipher-suites=
  --cors='*' --host-whitelist='*' --auth-token=simple --bcrypt-cost=10 --auth-token-ttl=300 --enable-pprof=false
  --metrics=basic --listen-metrics-urls= --log-level=info --proxy=off --proxy-failure-wait=5000
  --proxy-refresh-interval=30000 --proxy-dial-timeout=1000 --proxy-write-timeout=5000 --proxy-read-timeout=0
  --experimental-initial-corrupt-check=false --experimental-corrupt-check-time=0s --experimental-enable-v2v3=
  --experimental-backend-bbolt-freelist-type=array --experimental-enable-lease-checkpoint=false
  --experimental-compaction-batch-limit=1000 --experimental-peer-skip-client-san-verification=false
  --experimental-watch-progress-notify-interval=10m --experimental-warning-apply-duration=100ms
  --force-new-cluster=false --debug=false --log-package-levels=)
# The zap logger to stdout and to a file at once.
start "$tmp/out.log" "${defaults[@]}" --logger=zap --log-outputs="stdout,$tmp/file.log" || { echo "$fails failures"; exit 1; }
[ "$(ctl put foo bar)" = "OK" ] || fail "put"
[ "$(ctl get foo --print-value-only)" = "bar" ] || fail "get: $(ctl get foo)"
stop
for f in "$tmp/out.log" "$tmp/file.log"; do
  grep -q '"msg":"ready to serve client requests"' "$f" || fail "$f: no zap ready line: $(head -c 2000 "$f")"
done
# A setting that tunes what detcd lacks is not dropped silently.
grep -q -- "--backend-batch-limit has no effect in detcd" "$tmp/out.log" || fail "no warning for --backend-batch-limit"

# --log-level=warn: info lines dropped, the member serves.
start "$tmp/warn.log" --log-level=warn || { echo "$fails failures"; exit 1; }
[ "$(ctl get foo --print-value-only)" = "bar" ] || fail "get at --log-level=warn"
stop
if grep -q "ready to serve client requests" "$tmp/warn.log"; then fail "an info line at --log-level=warn"; fi

# Progress notifications every second to the watcher that asked, none to the one that did not.
start "$tmp/notify.log" --experimental-watch-progress-notify-interval=1s || { echo "$fails failures"; exit 1; }
asked=$(curl -s -N --max-time 3.5 -X POST "$ep/v3/watch" -d '{"create_request":{"key":"Zm9v","progress_notify":true}}')
other=$(curl -s -N --max-time 2.5 -X POST "$ep/v3/watch" -d '{"create_request":{"key":"Zm9v"}}')
stop
n=$(grep -c '^{"result":{"header":{[^}]*}}}$' <<<"$asked")
[ "$n" -ge 2 ] || fail "progress notifications in 3.5 s at 1 s: $n: $asked"
n=$(grep -c '^{"result":{"header":{[^}]*}}}$' <<<"$other")
[ "$n" -eq 0 ] || fail "progress notifications to a watcher that did not ask: $other"

# Turned on, a feature detcd lacks is refused with its name, from a flag or the environment, writing nothing.
rm -rf "$data"
out=$(run --enable-v2=true 2>&1)
[ $? -eq 1 ] || fail "--enable-v2=true: exit status not 1: $out"
grep -q "the v2 API is not supported by detcd" <<<"$out" || fail "--enable-v2=true message: $out"
out=$(ETCD_ENABLE_PPROF=true run 2>&1)
[ $? -eq 1 ] || fail "ETCD_ENABLE_PPROF=true: exit status not 1: $out"
grep -q "pprof" <<<"$out" || fail "pprof message: $out"
[ ! -e "$data" ] || fail "a refused setting still created the data directory"

rm -rf "${tmp:?}"/* 2>/dev/null  # the member's data: the sandbox may outlive the test
echo "$fails failures"
[ $fails -eq 0 ]
