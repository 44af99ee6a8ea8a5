#!/usr/bin/env bash
# Started the way etcd's own process tests start a server (go.etcd.io/etcd/pkg/expect over creack/pty): a new session
# whose controlling terminal is a pseudo-terminal that is the member's stdin, stdout and stderr, with descriptors 3
# and 10 inherited besides, no shell in between; the harness reads the terminal until "ready to serve client
# requests", kills every member with SIGKILL and at once starts the next round on the same ports (every other round
# on the same data directories). Three members, plain and then TLS (--auto-tls/--peer-auto-tls): every start must
# reach its ready line, with the terminal open until then.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"
detcd="$1"
declare -a cport pport
loopback_members 3
python3 - "$detcd" "$tmp" "${cport[1]}" "${cport[2]}" "${cport[3]}" "${pport[1]}" "${pport[2]}" "${pport[3]}" <<'PY'
import fcntl, os, select, signal, subprocess, sys, termios, time
detcd, tmp = sys.argv[1], sys.argv[2]
cports, pports = sys.argv[3:6], sys.argv[6:9]
failures = 0

def start(i, scheme, extra):
    master, slave = os.openpty()
    def child():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    args = [detcd, "--name=m%d" % i, "--data-dir=%s/%s-m%d" % (tmp, scheme, i),
            "--listen-client-urls=%s://127.0.0.1:%s" % (scheme, cports[i - 1]),
            "--advertise-client-urls=%s://127.0.0.1:%s" % (scheme, cports[i - 1]),
            "--listen-peer-urls=%s://127.0.0.1:%s" % (scheme, pports[i - 1]),
            "--initial-advertise-peer-urls=%s://127.0.0.1:%s" % (scheme, pports[i - 1]),
            "--initial-cluster=" + ",".join("m%d=%s://127.0.0.1:%s" % (j + 1, scheme, pports[j]) for j in range(3)),
            "--initial-cluster-state=new"]
    if scheme == "https":
        args += ["--auto-tls", "--peer-auto-tls"]
    env = {"DETCD_WAL_SEGMENT_BYTES": "1048576"}
    p = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, preexec_fn=child, env=env,
                         pass_fds=extra, close_fds=True)
    os.close(slave)
    return p, master

def wait_ready(p, master, deadline):
    out = b""
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if not r:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every holder of the terminal's other side closed it
            return False, out
        if not chunk:
            return False, out
        out += chunk
        if b"ready to serve client requests" in out:
            return True, out
    return False, out

# Descriptors 3 and 10, inherited as a Go harness's would be.
r3 = os.open("/dev/null", os.O_RDONLY)
os.dup2(r3, 3)
os.dup2(r3, 10)
starts = 0
for scheme in ("http", "https"):
    for rnd in range(4):
        if rnd % 2 == 0:
            subprocess.run(["rm", "-rf"] + ["%s/%s-m%d" % (tmp, scheme, i) for i in (1, 2, 3)])
        t0 = time.time()
        procs = [start(i, scheme, (3, 10)) for i in (1, 2, 3)]
        for i, (p, master) in enumerate(procs, 1):
            ok, out = wait_ready(p, master, t0 + 15)
            starts += 1
            if not ok:
                failures += 1
                print("FAIL: %s round %d m%d: no ready line after %.2fs (exit %s); its terminal said: %r" %
                      (scheme, rnd, i, time.time() - t0, p.poll(), out[-600:]))
        for p, master in procs:
            p.send_signal(signal.SIGKILL)
        for p, master in procs:
            p.wait()
            os.close(master)
print("%d starts through a pseudo-terminal, %d without their ready line" % (starts, failures))
sys.exit(1 if failures else 0)
PY
rc=$?
[ $rc -eq 0 ] || fail "starts through a pseudo-terminal failed"
rm -rf "${tmp:?}"/* 2>/dev/null
echo "$fails failures"
[ $fails -eq 0 ]
