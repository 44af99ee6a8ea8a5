#!/usr/bin/env bash
# detcd-load's benchmark workloads against one detcd member: each workload runs briefly (small --total) with more
# clients than connections, and its `result:` line must parse with ok > 0 and failed = 0 (watch: every put's event
# reached every watcher). A bad flag must exit 2 with a message. The server must run with tcmalloc. The register
# workload is covered by the crash and cluster tests, which check its history.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
load="$2"
port=$(free_port)
ep="127.0.0.1:$port"

"$detcd" --data-dir="$tmp/data" --listen-client-urls="http://$ep" --advertise-client-urls="http://$ep" \
  --listen-peer-urls=http://127.0.0.1:0 >"$tmp/detcd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q 'ready to serve client requests' "$tmp/detcd.log" && break; sleep 0.05; done
# The figures in docs/performance.md assume the server allocates with gperftools' tcmalloc, not glibc's malloc.
grep -q 'libtcmalloc' "/proc/$pid/maps" || fail "the server runs without tcmalloc (not linked, or not loaded)"

for w in put range range-serializable txn-put watch lease-keepalive; do
  out=$("$load" --endpoints="$ep" --workload="$w" --clients=12 --conns=3 --total=300 --duration=10s \
    --key-space=50 --watchers=3 --timeout=5s 2>&1)
  rc=$?
  echo "$out"
  [ $rc -eq 0 ] || fail "$w: detcd-load exited $rc"
  line=$(echo "$out" | grep '^result: ')
  [ -n "$line" ] || { fail "$w: no result line"; continue; }
  field() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  [ "$(field workload)" = "$w" ] || fail "$w: result names workload '$(field workload)'"
  [ "$(field clients)" = 12 ] && [ "$(field conns)" = 3 ] || fail "$w: clients/conns not echoed: $line"
  ok=$(field ok)
  [ "${ok:-0}" -gt 0 ] || fail "$w: ok=${ok:-none}"
  [ "$(field failed)" = 0 ] || fail "$w: failed=$(field failed)"
  for f in seconds rps p50_ms p90_ms p99_ms max_ms; do
    echo "$(field $f)" | grep -Eq '^[0-9]+(\.[0-9]+)?$' || fail "$w: $f='$(field $f)' is not a number"
  done
  case $w in
    watch) [ "$ok" -eq $((3 * $(field puts))) ] || fail "watch: $ok events for $(field puts) puts and 3 watchers" ;;
    put | txn-put | range | range-serializable | lease-keepalive) [ "$ok" -eq 300 ] || fail "$w: ok=$ok of --total=300" ;;
  esac
done

# Bad flags: a message and exit 2, before any connection.
for args in "--workload=nope" "--clients=0" "--endpoints=$ep --bogus=1" "--workload=put --history=$tmp/h" \
  "--workload=put --key-space=1000 --key-size=2" "--workload=put"; do
  [ "$args" = "--workload=put" ] && set -- || set -- "--endpoints=$ep"
  # shellcheck disable=SC2086
  "$load" "$@" $args >"$tmp/bad.txt" 2>&1
  rc=$?
  if [ "$args" = "--workload=put" ]; then  # no --endpoints at all
    [ $rc -eq 2 ] && grep -q 'endpoints is required' "$tmp/bad.txt" || fail "missing --endpoints: exit $rc"
  else
    [ $rc -eq 2 ] && grep -q '^detcd-load: ' "$tmp/bad.txt" || fail "'$args': exit $rc: $(head -1 "$tmp/bad.txt")"
  fi
done

kill -TERM $pid
wait $pid
rm -rf "${tmp:?}"/* 2>/dev/null
echo "$fails failures"
[ $fails -eq 0 ]
