#!/usr/bin/env bash
# detcd-load's benchmark workloads against one detcd member: each workload runs briefly (small --total) with more
# clients than connections, and its `result:` line must parse with ok > 0 and failed = 0 (watch: every put's event
# reached every watcher). A bad flag must exit 2 with a message. The server must run with tcmalloc. The register
# workload is covered by the crash and cluster tests, which check its history. With auth on (etcdctl sets it up),
# --user authenticates and every request carries the token; a wrong password or a bad --user is refused.
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

# With auth on: --user authenticates once and every request carries the token (a non-root user, so each is checked).
if command -v etcdctl >/dev/null; then
  e=(env ETCDCTL_API=3 etcdctl --endpoints="$ep")
  { "${e[@]}" user add root:rootpw && "${e[@]}" user grant-role root root && "${e[@]}" user add u:upw &&
    "${e[@]}" role add r && "${e[@]}" role grant-permission r readwrite 0 : && "${e[@]}" user grant-role u r &&
    "${e[@]}" auth enable; } >"$tmp/auth.txt" 2>&1 || fail "auth setup: $(tail -1 "$tmp/auth.txt")"
  for w in put range txn-put; do
    out=$("$load" --endpoints="$ep" --workload=$w --clients=8 --conns=2 --total=200 --key-space=50 --user=u:upw 2>&1)
    echo "$out" | grep -q '^result: .* ok=200 failed=0 ' || fail "$w with --user: $(echo "$out" | grep -m1 '^result\|rror')"
  done
  out=$("$load" --endpoints="$ep" --workload=put --clients=2 --total=10 --key-space=50 --user=u:wrong 2>&1)
  rc=$?
  [ $rc -eq 1 ] && echo "$out" | grep -q 'authenticate as u: etcdserver: authentication failed, invalid user ID or password' ||
    fail "wrong password: exit $rc: $out"
  out=$("$load" --endpoints="$ep" --workload=put --clients=2 --total=10 --key-space=50 --timeout=2s 2>&1)
  echo "$out" | grep -q '^result: .* ok=0 failed=10 ' || fail "no --user with auth on should fail every put: $out"
  for args in "--workload=put --user=u" "--workload=put --user=:pw" "--workload=watch --user=u:upw"; do
    # shellcheck disable=SC2086
    "$load" --endpoints="$ep" $args >"$tmp/bad.txt" 2>&1
    rc=$?
    [ $rc -eq 2 ] && grep -q '^detcd-load: .*--user' "$tmp/bad.txt" || fail "'$args': exit $rc: $(head -1 "$tmp/bad.txt")"
  done
else
  fail "etcdctl not installed (Debian etcd-client)"
fi

kill -TERM $pid
wait $pid
rm -rf "${tmp:?}"/* 2>/dev/null
echo "$fails failures"
[ $fails -eq 0 ]
