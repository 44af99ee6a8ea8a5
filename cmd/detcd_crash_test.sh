#!/usr/bin/env bash
# kill -9 under a write load, then restart: detcd-load keeps 8 clients getting, putting and compare-and-swapping a few
# keys while the detcd process is killed with SIGKILL and started again on the same data directory; the clients'
# recorded history must pass detcd-check (nothing acknowledged was lost, no read went back in time), and the restarted
# member must serve again.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
load="$2"
check="$3"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ep="127.0.0.1:$port"

start() {
  "$detcd" --data-dir="$tmp/data" --listen-client-urls="http://$ep" --advertise-client-urls="http://$ep" \
    --listen-peer-urls=http://127.0.0.1:0 \
    >>"$tmp/detcd.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    [ "$(grep -c 'ready to serve client requests' "$tmp/detcd.log")" -ge "$1" ] && return 0
    sleep 0.05
  done
  fail "detcd did not become ready: $(tail -5 "$tmp/detcd.log")"
  return 1
}

start 1 || exit 1
"$load" --endpoints="$ep" --clients=8 --keys=5 --duration=6s --timeout=1s --history="$tmp/h.jsonl" >"$tmp/load.txt" 2>&1 &
loader=$!
sleep 2
kill -9 $pid
wait $pid 2>/dev/null
sleep 0.5
start 2 || { kill $loader; exit 1; }
sleep 1.5
kill -9 $pid
wait $pid 2>/dev/null
start 3 || { kill $loader; exit 1; }
wait $loader || fail "detcd-load exited $?: $(cat "$tmp/load.txt")"
cat "$tmp/load.txt"
ok=$(sed -n 's/^requests: \([0-9]*\) ok.*/\1/p' "$tmp/load.txt")
[ "${ok:-0}" -gt 200 ] || fail "too few acknowledged requests: ${ok:-0}"
verdict=$("$check" --history="$tmp/h.jsonl")
rc=$?
[ $rc -eq 0 ] || fail "detcd-check exited $rc: $verdict"
[ "$verdict" = "linearizable: yes" ] || fail "history: $verdict"
kill -TERM $pid
wait $pid

rm -rf "${tmp:?}"/* 2>/dev/null  # the members' data: the sandbox may outlive the test
echo "$fails failures"
[ $fails -eq 0 ]
