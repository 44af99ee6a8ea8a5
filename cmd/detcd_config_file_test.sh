#!/usr/bin/env bash
# etcd's --config-file on the detcd binary: three members on loopback, each started from a YAML file written as
# etcd's etcd.conf.yml.sample is (names, URLs, cluster, zap logger to stderr, nested transport-security maps), with
# command-line flags and ETCD_* variables that contradict the file and must be ignored (one member gets its file
# through ETCD_CONFIG_FILE). etcdctl writes and reads across members and `member list` shows the files' names and
# URLs; a member restarts from its file. A member on https URLs takes auto TLS from the transport-security maps. Bad
# files (missing, malformed YAML, a wrong YAML type, a bad value, a feature detcd lacks) make detcd exit 1 with the
# error, before serving or writing anything.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, loopback_members
detcd="$1"
command -v etcdctl >/dev/null || { echo "etcdctl not installed (Debian etcd-client)"; exit 1; }
declare -a cport pport pid
loopback_members 3
ctl() { etcdctl --endpoints="$endpoints" --command-timeout=10s "$@"; }
cleanup() { for i in 1 2 3; do kill -9 "${pid[$i]:-}" 2>/dev/null; done; }
trap cleanup EXIT

# write_config I: member mI's file, laid out as etcd's sample (its comments shortened).
write_config() {
  local i=$1
  cat >"$tmp/m$i.yml" <<EOF
# This is the configuration file for the etcd server.

# Human-readable name for this member.
name: 'm$i'

# Path to the data directory.
data-dir: $tmp/m$i

# Path to the dedicated wal directory.
wal-dir:

# Number of committed transactions to trigger a snapshot to disk.
snapshot-count: 10000

# Time (in milliseconds) of a heartbeat interval.
heartbeat-interval: 50

# Time (in milliseconds) for an election to timeout.
election-timeout: 500

quota-backend-bytes: 0

# List of comma separated URLs to listen on for peer traffic.
listen-peer-urls: http://127.0.0.1:${pport[$i]}

# List of comma separated URLs to listen on for client traffic.
listen-client-urls: http://127.0.0.1:${cport[$i]}

max-snapshots: 5
max-wals: 5
cors:

initial-advertise-peer-urls: http://127.0.0.1:${pport[$i]}
advertise-client-urls: http://127.0.0.1:${cport[$i]}

discovery:
discovery-fallback: 'proxy'
discovery-proxy:
discovery-srv:

# Initial cluster configuration for bootstrapping.
initial-cluster: $initial
initial-cluster-token: 'etcd-config-file-test'
initial-cluster-state: 'new'

strict-reconfig-check: false
enable-v2: false
enable-pprof: false

# Valid values include 'on', 'readonly', 'off'
proxy: 'off'
proxy-failure-wait: 5000
proxy-refresh-interval: 30000
proxy-dial-timeout: 1000
proxy-write-timeout: 5000
proxy-read-timeout: 0

client-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false

peer-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false

debug: false
logger: zap
log-outputs: [stderr]
force-new-cluster: false
auto-compaction-mode: periodic
auto-compaction-retention: "1"
EOF
}

# start I: mI from its file. The flags and variables below would make another member (or, for ETCD_NAME next to
# --name, a fatal conflict) if they were read.
start() {
  local i=$1
  if [ "$i" = 3 ]; then
    ETCD_CONFIG_FILE="$tmp/m$i.yml" ETCD_DATA_DIR="$tmp/wrong-env" "$detcd" --name=wrong \
      --listen-client-urls=http://127.0.0.1:1 >>"$tmp/m$i.log" 2>&1 &
  else
    ETCD_NAME=wrong-env ETCD_INITIAL_CLUSTER_TOKEN=wrong "$detcd" --config-file "$tmp/m$i.yml" --name=wrong \
      --data-dir="$tmp/wrong-flag" --logger=capnslog --initial-cluster=wrong=http://127.0.0.1:1 >>"$tmp/m$i.log" 2>&1 &
  fi
  pid[$i]=$!
}

for i in 1 2 3; do write_config "$i"; done
for i in 1 2 3; do start "$i"; done
for i in 1 2 3; do member_ready "$i" || { echo "$fails failures"; exit 1; }; done

for i in 1 2 3; do
  # The file's logger (zap), and etcd's notice that flags and variables are ignored.
  grep -q '"msg":"loaded server configuration, other configuration command line flags and environment variables will be ignored if provided"' "$tmp/m$i.log" ||
    fail "m$i: no zap 'loaded server configuration' line: $(head -c 1500 "$tmp/m$i.log")"
  [ -d "$tmp/m$i/member" ] || fail "m$i: data not in the file's data-dir: $(ls "$tmp")"
done
[ -e "$tmp/wrong-flag" ] || [ -e "$tmp/wrong-env" ] && fail "a data dir from a flag or variable was used"

[ "$(ctl member list | grep -c started)" = "3" ] || fail "member list: $(ctl member list)"
for i in 1 2 3; do
  etcdctl --endpoints="http://127.0.0.1:${cport[1]}" member list |
    grep -q "m$i, http://127.0.0.1:${pport[$i]}, http://127.0.0.1:${cport[$i]}," ||
    fail "m$i's name and URLs from its file missing: $(etcdctl --endpoints="http://127.0.0.1:${cport[1]}" member list)"
done
etcdctl --endpoints="http://127.0.0.1:${cport[1]}" put from-file hello >/dev/null || fail "put via m1"
[ "$(etcdctl --endpoints="http://127.0.0.1:${cport[3]}" get from-file --print-value-only)" = "hello" ] ||
  fail "read via m3: $(etcdctl --endpoints="http://127.0.0.1:${cport[3]}" get from-file)"

# A member restarts from the same file on its data.
kill -TERM "${pid[2]}"
wait "${pid[2]}" || fail "m2 did not stop cleanly"
start 2
member_ready 2 2 && {
  [ "$(etcdctl --endpoints="http://127.0.0.1:${cport[2]}" get from-file --print-value-only)" = "hello" ] ||
    fail "m2 after restart: $(etcdctl --endpoints="http://127.0.0.1:${cport[2]}" get from-file 2>&1)"
}

for i in 1 2 3; do kill -TERM "${pid[$i]}" 2>/dev/null; done
for i in 1 2 3; do wait "${pid[$i]}" 2>/dev/null; done
trap - EXIT

# The transport-security maps: one member on https client and peer URLs with auto TLS from both maps.
tls_c=$(free_port)
tls_p=$(free_port)
cat >"$tmp/tls.yml" <<EOF
name: tls1
data-dir: $tmp/tls1
listen-client-urls: https://127.0.0.1:$tls_c
advertise-client-urls: https://127.0.0.1:$tls_c
listen-peer-urls: https://127.0.0.1:$tls_p
initial-advertise-peer-urls: https://127.0.0.1:$tls_p
initial-cluster: tls1=https://127.0.0.1:$tls_p
client-transport-security:
  client-cert-auth: false
  auto-tls: true
peer-transport-security:
  auto-tls: yes
EOF
"$detcd" --config-file="$tmp/tls.yml" --auto-tls=false >"$tmp/tls1.log" 2>&1 &
tls_pid=$!
tctl() {
  etcdctl --endpoints="https://127.0.0.1:$tls_c" --command-timeout=10s --insecure-skip-tls-verify \
    --insecure-transport=false "$@"
}
for _ in $(seq 1 150); do
  grep -q 'ready to serve client requests' "$tmp/tls1.log" && break
  sleep 0.1
done
[ "$(tctl put tls yes 2>&1)" = "OK" ] || fail "put over the file's auto TLS: $(tctl put tls yes 2>&1) $(tail -5 "$tmp/tls1.log")"
[ "$(tctl get tls --print-value-only 2>&1)" = "yes" ] || fail "get over the file's auto TLS: $(tctl get tls 2>&1)"
tctl member list 2>&1 | grep -q "tls1, https://127.0.0.1:$tls_p, https://127.0.0.1:$tls_c," ||
  fail "tls1's https URLs: $(tctl member list 2>&1)"
[ -d "$tmp/tls1/fixtures/client" ] && [ -d "$tmp/tls1/fixtures/peer" ] ||
  fail "no auto TLS pairs under the file's data-dir: $(ls -R "$tmp/tls1" 2>&1 | head -20)"
kill -TERM $tls_pid
wait $tls_pid || fail "tls1 did not stop cleanly"

# bad NAME EXPECTED_TEXT [YAML]: detcd started from the file NAME (written from YAML when given) exits 1, says
# EXPECTED_TEXT, serves nothing and leaves no data directory.
bad_port=$(free_port)
bad() {
  local name=$1 want=$2 out rc
  [ $# -ge 3 ] && printf '%s\nlisten-client-urls: http://127.0.0.1:%s\ndata-dir: %s\n' "$3" "$bad_port" \
    "$tmp/bad-data" >"$tmp/$name"
  out=$(timeout 20 "$detcd" --config-file="$tmp/$name" 2>&1)
  rc=$?
  [ "$rc" = 1 ] || fail "$name: exit $rc, not 1: $out"
  grep -qF -- "$want" <<<"$out" || fail "$name: no '$want' in: $out"
  [ -e "$tmp/bad-data" ] && fail "$name: a data dir was created"
  rm -rf "$tmp/bad-data"
}
bad missing.yml "open $tmp/missing.yml: no such file or directory"
bad malformed.yml "error converting YAML to JSON: yaml: line " 'name: [m1'
bad type.yml 'json: cannot unmarshal string into Go struct field configYAML.snapshot-count of type uint64' \
  'snapshot-count: "10"'
bad value.yml '--heartbeat-interval must be >0 (set to 0ms)' 'heartbeat-interval: 0'
bad url.yml 'unexpected error setting up listen-peer-urls: URL scheme must be http, https, unix, or unixs: foo://x' \
  'listen-peer-urls: foo://x'
bad v2.yml '--enable-v2=true: the v2 API is not supported by detcd' 'enable-v2: true'
bad bad-tls.yml 'json: cannot unmarshal string into Go struct field securityConfig.peer-transport-security.auto-tls of type bool' \
  "$(printf 'peer-transport-security:\n  auto-tls: "yes"')"
grep -q 'Loading server configuration from' <<<"$(timeout 20 "$detcd" --config-file="$tmp/missing.yml" 2>&1)" ||
  fail "no 'Loading server configuration' line before the error"
# Flag syntax is still checked before the file is read (Go's flag package: exit 2).
out=$(timeout 20 "$detcd" --config-file="$tmp/m1.yml" --no-such-flag 2>&1)
rc=$?
[ "$rc" = 2 ] || fail "a bad flag beside --config-file: exit $rc, not 2: $out"

rm -rf "${tmp:?}"/* 2>/dev/null  # the members' data: the sandbox may outlive the test
echo "$fails failures"
[ $fails -eq 0 ]
