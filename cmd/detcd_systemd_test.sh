#!/usr/bin/env bash
# detcd installed and started as systemd would start it: packaging/install.sh into a scratch DESTDIR lays out the
# binary, the unit, the settings sample and the man page; the unit's ExecStart, run with the settings file's
# variables (plus this test's ports) and NOTIFY_SOCKET set, sends READY=1 once it serves (Type=notify) and STOPPING=1
# when told to stop.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
install_sh="$2"
command -v etcdctl >/dev/null || { echo "etcdctl not installed (Debian etcd-client)"; exit 1; }

dest="$tmp/root"
"$install_sh" /usr "$dest" "$detcd" >"$tmp/install.log" 2>&1 || fail "install.sh: $(cat "$tmp/install.log")"
for f in usr/bin/detcd usr/lib/systemd/system/detcd.service usr/share/doc/detcd/detcd.default etc/default/detcd \
  usr/share/man/man1/detcd.1; do
  [ -s "$dest/$f" ] || fail "not installed: $f"
done
unit="$dest/usr/lib/systemd/system/detcd.service"
grep -qx "Type=notify" "$unit" || fail "the unit is not Type=notify"
grep -q -- "--initial-cluster" "$dest/usr/share/man/man1/detcd.1" || fail "the man page lacks the flags"
# An operator's settings are never overwritten.
echo 'ETCD_NAME="mine"' >"$dest/etc/default/detcd"
"$install_sh" /usr "$dest" "$detcd" >/dev/null 2>&1
[ "$(cat "$dest/etc/default/detcd")" = 'ETCD_NAME="mine"' ] || fail "a second install overwrote /etc/default/detcd"

# The unit's ExecStart, as systemd runs it: the settings file's variables in the environment, $DAEMON_ARGS expanded.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$exec_start" = '/usr/bin/detcd $DAEMON_ARGS' ] || fail "ExecStart: $exec_start"
port=$(free_port)
peer_port=$(free_port)
ep="http://127.0.0.1:$port"
settings="$tmp/settings"
grep -E '^[A-Z_]+=' "$dest/usr/share/doc/detcd/detcd.default" >"$settings"
cat >>"$settings" <<SETTINGS
ETCD_DATA_DIR=$tmp/data
ETCD_LISTEN_CLIENT_URLS=$ep
ETCD_ADVERTISE_CLIENT_URLS=$ep
ETCD_LISTEN_PEER_URLS=http://127.0.0.1:$peer_port
ETCD_INITIAL_ADVERTISE_PEER_URLS=http://127.0.0.1:$peer_port
ETCD_INITIAL_CLUSTER=default=http://127.0.0.1:$peer_port
DAEMON_ARGS=--log-level=info
SETTINGS
# systemd's notification socket: READY=1 must come, and only once the member answers.
sockdir=$(mktemp -d /tmp/detcd-notify.XXXXXX)  # a socket's path must fit in 108 bytes; TEST_TMPDIR's does not
trap 'rm -rf "$sockdir"' EXIT
notify="$sockdir/notify.sock"
python3 - "$notify" "$ep" >"$tmp/notify.log" 2>&1 <<'PY' &
import socket, subprocess, sys, time
path, ep = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(30)
seen = []
deadline = time.time() + 30
while time.time() < deadline and "STOPPING=1" not in seen:
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        break
    for line in msg.split("\n"):
        if not line:
            continue
        seen.append(line)
        if line == "READY=1":
            # Ready means serving: a put through the client URL succeeds now.
            r = subprocess.run(["etcdctl", "--endpoints=" + ep, "--command-timeout=5s", "put", "k", "v"],
                               capture_output=True, text=True, env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})
            print("put at READY:", r.stdout.strip() or r.stderr.strip(), flush=True)
print("seen:", " ".join(seen), flush=True)
PY
listener=$!
for _ in $(seq 1 50); do [ -S "$notify" ] && break; sleep 0.1; done
(
  set -a
  . "$settings"
  set +a
  export NOTIFY_SOCKET="$notify"
  unset DETCD_WAL_SEGMENT_BYTES
  exec "$dest${exec_start%% *}" $DAEMON_ARGS  # ExecStart's binary (under DESTDIR here), its arguments split as systemd does
) >"$tmp/detcd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "put at READY" "$tmp/notify.log" && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
grep -q "put at READY: OK" "$tmp/notify.log" || fail "READY=1 not sent, or sent before serving: $(cat "$tmp/notify.log") $(tail -5 "$tmp/detcd.log")"
kill -TERM $pid 2>/dev/null
wait $pid
wait $listener
grep -q "seen: READY=1.*STOPPING=1" "$tmp/notify.log" || fail "no STOPPING=1 after READY=1: $(cat "$tmp/notify.log")"

rm -rf "${tmp:?}"/* 2>/dev/null
echo "$fails failures"
[ $fails -eq 0 ]
