# Sourced by the end-to-end tests in cmd/ (never run on its own): what each of them starts with. Members preallocate
# small WAL segments (test-only setting) so the suite uses little disk; etcdctl speaks v3; `fail` counts failures
# (each test ends with "$fails failures" and exits non-zero if any); $tmp is the test's scratch directory (Bazel's
# TEST_TMPDIR); free_port prints a loopback port nobody listens on; loopback_members N picks the ports of members
# m1..mN.
export DETCD_WAL_SEGMENT_BYTES=1048576
export ETCDCTL_API=3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
tmp=${TEST_TMPDIR:-$(mktemp -d)}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# need_etcd: for the tests that run Debian's etcd beside detcd; sets etcd_bin, or exits 1 naming the missing package.
need_etcd() {
  command -v etcdctl >/dev/null || { echo "etcdctl not installed (Debian etcd-client)"; exit 1; }
  etcd_bin=$(command -v etcd || dpkg -L etcd-server 2>/dev/null | grep '/bin/etcd$' | head -1)
  [ -x "$etcd_bin" ] || { echo "etcd not installed (Debian etcd-server)"; exit 1; }
}
# Members m1..mN on loopback: sets cport[i] and pport[i] (free ports), initial (their --initial-cluster) and
# endpoints (their client URLs, comma-separated).
loopback_members() {
  local i
  initial=""
  endpoints=""
  for ((i = 1; i <= $1; i++)); do
    cport[$i]=$(free_port)
    pport[$i]=$(free_port)
    initial+="${initial:+,}m$i=http://127.0.0.1:${pport[$i]}"
    endpoints+="${endpoints:+,}http://127.0.0.1:${cport[$i]}"
  done
}
# start_member DETCD I [FLAG...]: member mI of loopback_members' cluster, in the background (data $tmp/mI, log
# $tmp/mI.log appended to), its pid in pid[I]. member_ready I [COUNT]: waits (15 s at most) until mI logged that it is
# ready COUNT times (1 if not given); a failure if it does not.
start_member() {
  local detcd=$1 i=$2
  shift 2
  "$detcd" --name="m$i" --data-dir="$tmp/m$i" --listen-client-urls="http://127.0.0.1:${cport[$i]}" \
    --advertise-client-urls="http://127.0.0.1:${cport[$i]}" --listen-peer-urls="http://127.0.0.1:${pport[$i]}" \
    --initial-advertise-peer-urls="http://127.0.0.1:${pport[$i]}" --initial-cluster="$initial" "$@" \
    >>"$tmp/m$i.log" 2>&1 &
  pid[$i]=$!
}
member_ready() {
  local _
  for _ in $(seq 1 150); do
    [ "$(grep -c 'ready to serve client requests' "$tmp/m$1.log" 2>/dev/null)" -ge "${2:-1}" ] && return 0
    sleep 0.1
  done
  fail "m$1 did not become ready: $(tail -5 "$tmp/m$1.log")"
  return 1
}
# start_detcd LOG COMMAND...: COMMAND (a detcd and its flags, or a function that runs one) in the background, its
# output in LOG, its pid in $pid; waits (10 s at most) until it logged that it is ready; a failure if it exits or is
# not ready by then. stop_detcd: SIGTERM, then waits for it to exit.
start_detcd() {
  local log=$1 _
  shift
  "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q "ready to serve client requests" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  fail "detcd did not become ready: $(cat "$log")"
  return 1
}
stop_detcd() { kill -TERM "$pid"; wait "$pid"; }
