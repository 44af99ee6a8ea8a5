#!/usr/bin/env bash
# Side-by-side load: detcd and etcd (Debian etcd-server) started with the same flags (1 member, or 3 members on
# loopback), each driven by the same detcd-load run, alternating ROUNDS times per (workload, clients), every run on
# fresh data directories. Per run it records ok req/s, p50, p99, max, failed and the CPU seconds all server
# processes used during the timed load (utime+stime from /proc/PID/stat); then prints one row per (members,
# workload, clients) with the medians: rps of each and their ratio, p99 of each, CPU seconds per 1,000 ok requests
# of each and their ratio. Only 127.0.0.1; every server is stopped (SIGTERM, then waited for) after its run.
#   tools/bench-vs-etcd.sh DETCD DETCD_LOAD [MEMBERS] [CLIENTS...] [CONNS] [WORKLOADS...] [ROUNDS] [SECONDS]
# CLIENTS and WORKLOADS are space-separated lists, e.g. "1 16 64 256" and "put range range-serializable txn-put".
# With AUTH=1 in the environment every server gets auth on before the timed load (etcdctl: root, and a user "bench"
# whose role may read and write the load's keys) and the load runs as that user (detcd-load --user): each request
# then carries a token and is checked, on both servers. Unary workloads only.
set -eu
detcd="$1"
load="$2"
members="${3:-1}"
clients_list="${4:-16}"
conns="${5:-4}"
workloads="${6:-put}"
rounds="${7:-3}"
seconds="${8:-10}"
key_space=1000
case "$members" in 1 | 3) ;; *) echo "MEMBERS must be 1 or 3" >&2; exit 2 ;; esac
command -v etcd >/dev/null || { echo "etcd not installed (Debian etcd-server)" >&2; exit 1; }
etcd_bin=$(command -v etcd)
tck=$(getconf CLK_TCK)
tmp=$(mktemp -d)
pids=()
. "$(dirname "$0")/servers_lib.sh"  # stop_servers
trap 'stop_servers; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_cluster BINARY DIR: members on fresh ports with etcd's flags; sets pids and endpoints; waits until every
# member logged "ready to serve client requests" and a put through every endpoint succeeded (a leader is known).
start_cluster() {
  local bin=$1 dir=$2 i cluster="" token="bench-$RANDOM$RANDOM"
  local -a client peer
  for i in $(seq 1 "$members"); do
    client[$i]=$(free_port)
    peer[$i]=$(free_port)
    cluster+="${cluster:+,}m$i=http://127.0.0.1:${peer[$i]}"
  done
  endpoints=""
  for i in $(seq 1 "$members"); do
    "$bin" --name="m$i" --data-dir="$dir/m$i" \
      --listen-client-urls="http://127.0.0.1:${client[$i]}" --advertise-client-urls="http://127.0.0.1:${client[$i]}" \
      --listen-peer-urls="http://127.0.0.1:${peer[$i]}" --initial-advertise-peer-urls="http://127.0.0.1:${peer[$i]}" \
      --initial-cluster="$cluster" --initial-cluster-state=new --initial-cluster-token="$token" \
      >"$dir/m$i.log" 2>&1 &
    pids+=($!)
    endpoints+="${endpoints:+,}127.0.0.1:${client[$i]}"
  done
  local ready=0
  for _ in $(seq 1 300); do
    ready=0
    for i in $(seq 1 "$members"); do grep -qs "ready to serve client requests" "$dir/m$i.log" && ready=$((ready + 1)); done
    [ $ready -eq "$members" ] && break
    sleep 0.1
  done
  [ $ready -eq "$members" ] || { echo "$bin: only $ready of $members members ready" >&2; tail -n 5 "$dir"/m*.log >&2; return 1; }
  local ep
  for ep in ${endpoints//,/ }; do
    for _ in $(seq 1 50); do
      "$load" --endpoints="$ep" --workload=put --clients=1 --total=1 --timeout=1s --key-space=1 | grep -q ' ok=1 ' && continue 2
      sleep 0.2
    done
    echo "$bin: no leader through $ep" >&2
    return 1
  done
}

# enable_auth ENDPOINT: root with the root role, a user "bench" with read-write on the load's keys (digits, so
# [0, :)), then auth on — as etcd's walkthrough does it, with stock etcdctl.
enable_auth() {
  local e=(env ETCDCTL_API=3 etcdctl --endpoints="$1")
  { "${e[@]}" user add root:rootpw && "${e[@]}" user grant-role root root && "${e[@]}" user add bench:benchpw &&
    "${e[@]}" role add bench && "${e[@]}" role grant-permission bench readwrite 0 : &&
    "${e[@]}" user grant-role bench bench && "${e[@]}" auth enable; } >"$tmp/auth.log" 2>&1 ||
    { echo "auth setup failed: $(tail -n 1 "$tmp/auth.log")" >&2; return 1; }
}

cpu_ticks() {  # utime+stime of every server process, in clock ticks
  local p total=0
  for p in "${pids[@]}"; do
    total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo $total
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# run NAME BINARY WORKLOAD CLIENTS: one measured run; appends a row to $tmp/runs.
run() {
  local name=$1 bin=$2 workload=$3 clients=$4 dir="$tmp/$1-$RANDOM"
  mkdir -p "$dir"
  start_cluster "$bin" "$dir" || { stop_servers; rm -rf "$dir"; return 1; }
  local extra=""
  case $workload in
    range | range-serializable)  # fill outside the measured window
      "$load" --endpoints="$endpoints" --workload=put --clients="$clients" --conns="$conns" --sequential-keys \
        --key-space=$key_space --total=$key_space >/dev/null
      extra="--skip-fill" ;;
  esac
  if [ "${AUTH:-0}" = 1 ]; then
    enable_auth "${endpoints%%,*}" || { stop_servers; rm -rf "$dir"; return 1; }
    extra+=" --user=bench:benchpw"
  fi
  local before after out line
  before=$(cpu_ticks)
  out=$("$load" --endpoints="$endpoints" --workload="$workload" --clients="$clients" --conns="$conns" \
    --key-space=$key_space --duration="${seconds}s" --timeout=5s $extra)
  after=$(cpu_ticks)
  stop_servers
  rm -rf "$dir"
  line=$(echo "$out" | grep '^result: ')
  local ok cpu
  ok=$(field "$line" ok)
  cpu=$(python3 -c "print(f'{($after - $before) / $tck:.2f}')")
  echo "  $name members=$members $line cpu_s=$cpu" >&2
  echo "$out" | grep '^errors: ' | sed 's/^/    /' >&2 || true
  echo "$members $workload $clients $name $(field "$line" rps) $(field "$line" p50_ms) $(field "$line" p99_ms)" \
    "$(field "$line" max_ms) $(field "$line" failed) $ok $cpu" >>"$tmp/runs"
}

: >"$tmp/runs"
for workload in $workloads; do
  for clients in $clients_list; do
    for _ in $(seq 1 "$rounds"); do
      run detcd "$detcd" "$workload" "$clients"
      run etcd "$etcd_bin" "$workload" "$clients"
    done
  done
done

python3 - "$tmp/runs" "$rounds" "$seconds" "$conns" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
print(f"medians over {sys.argv[2]} rounds, {sys.argv[3]} s each, {sys.argv[4]} connections, 1000 keys, 256-byte values")
print(f"{'members':>7} {'workload':<18} {'clients':>7} {'rps detcd':>10} {'rps etcd':>10} {'ratio':>6} "
      f"{'p99 detcd':>10} {'p99 etcd':>9} {'max detcd':>10} {'max etcd':>9} {'fail d/e':>9} "
      f"{'cpu/1k detcd':>12} {'cpu/1k etcd':>11} {'ratio':>6}")
groups = {}
for m, w, c, name, rps, p50, p99, mx, failed, ok, cpu in rows:
    g = groups.setdefault((m, w, c), {"detcd": [], "etcd": []})
    ok = int(ok)
    g[name].append(dict(rps=float(rps), p99=float(p99), max=float(mx), failed=int(failed),
                        cpu1k=float(cpu) / ok * 1000 if ok else float("nan")))
for (m, w, c), g in groups.items():
    med = lambda name, k: statistics.median(r[k] for r in g[name]) if g[name] else float("nan")
    ratio = lambda a, b: a / b if b else float("nan")
    fails = f"{sum(r['failed'] for r in g['detcd'])}/{sum(r['failed'] for r in g['etcd'])}"
    print(f"{m:>7} {w:<18} {c:>7} {med('detcd','rps'):>10.0f} {med('etcd','rps'):>10.0f} "
          f"{ratio(med('detcd','rps'), med('etcd','rps')):>6.2f} {med('detcd','p99'):>10.2f} {med('etcd','p99'):>9.2f} "
          f"{med('detcd','max'):>10.2f} {med('etcd','max'):>9.2f} {fails:>9} "
          f"{med('detcd','cpu1k'):>12.3f} {med('etcd','cpu1k'):>11.3f} "
          f"{ratio(med('detcd','cpu1k'), med('etcd','cpu1k')):>6.2f}")
PY
