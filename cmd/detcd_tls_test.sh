#!/usr/bin/env bash
# Client TLS as a user sets it up: a CA, a server and a client certificate made with the openssl CLI; detcd started
# with an https client URL next to an http one and an https metrics URL, --cert-file/--key-file/--trusted-ca-file/
# --client-cert-auth; stock etcdctl (Debian etcd-client) puts, gets and watches over https with its client certificate
# and is refused without one; curl reaches the JSON gateway (/v3/kv/...), /health, /version and /metrics on the same
# https port with its client certificate and is refused without one (logged as etcd logs it), and /metrics and /health
# on the https metrics URL; the http URL keeps serving gRPC and the gateway. Then --auto-tls: a self-signed pair under
# <data-dir>/fixtures/client, naming the listen host, reused on restart; etcdctl with --insecure-skip-tls-verify, curl
# trusting the self-signed certificate and no client certificate.
# Peer TLS: a 3-member cluster on https peer URLs with --peer-cert-file/--peer-key-file/--peer-trusted-ca-file/
# --peer-client-cert-auth (a peer certificate for 127.0.0.1, server and client use), etcdctl writing through one member
# and reading through the others, a plain connection to a peer port rejected; then the same with --peer-auto-tls.
# Refused before anything is written: a missing cert file, a key of another cert (client and peer), an https metrics
# URL without a certificate.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
command -v etcdctl >/dev/null || { echo "etcdctl not installed (Debian etcd-client)"; exit 1; }
command -v openssl >/dev/null || { echo "openssl not installed (Debian openssl)"; exit 1; }


# The PKI: a CA, a server certificate for 127.0.0.1/localhost, a client certificate; and a second CA nobody trusts.
pki="$tmp/pki"
mkdir -p "$pki"
(
  cd "$pki" || exit 1
  set -e
  for ca in ca other-ca; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$ca-key.pem" -out "$ca.pem" \
      -days 2 -subj "/CN=detcd test $ca" 2>/dev/null
  done
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
  printf 'extendedKeyUsage=clientAuth\n' >client.ext
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >peer.ext
  for who in server client peer; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$who-key.pem" -out "$who.csr" \
      -subj "/CN=$who" 2>/dev/null
    openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out "$who.pem" -days 2 \
      -extfile "$who.ext" 2>/dev/null
  done
) || { echo "FAIL: making the certificates with openssl"; exit 1; }

pid=
start() { start_detcd "$1" "$detcd" "${@:2}"; }  # start <log> <detcd flags...> (test_lib.sh)
stop() { stop_detcd; }
member_flags() {  # member_flags <data dir> <peer port>
  echo "--name=n1" "--data-dir=$1" "--listen-peer-urls=http://127.0.0.1:$2" \
    "--initial-advertise-peer-urls=http://127.0.0.1:$2" "--initial-cluster=n1=http://127.0.0.1:$2"
}

# 1. Mixed http and https client URLs, client certificates required on https.
http_port=$(free_port)
https_port=$(free_port)
metrics_port=$(free_port)
peer_port=$(free_port)
http_ep="http://127.0.0.1:$http_port"
https_ep="https://127.0.0.1:$https_port"
data="$tmp/data"
# shellcheck disable=SC2046
start "$tmp/detcd.log" $(member_flags "$data" "$peer_port") \
  --listen-client-urls="$http_ep,$https_ep" --advertise-client-urls="$https_ep" \
  --listen-metrics-urls="https://127.0.0.1:$metrics_port" \
  --cert-file="$pki/server.pem" --key-file="$pki/server-key.pem" --trusted-ca-file="$pki/ca.pem" \
  --client-cert-auth || { echo "$fails failures"; exit 1; }
tls=(--cacert="$pki/ca.pem" --cert="$pki/client.pem" --key="$pki/client-key.pem")
sctl() { etcdctl --endpoints="$https_ep" --command-timeout=10s "$@"; }
[ "$(sctl "${tls[@]}" put foo bar 2>&1)" = "OK" ] || fail "put over https: $(sctl "${tls[@]}" put foo bar 2>&1)"
[ "$(sctl "${tls[@]}" get foo --print-value-only 2>&1)" = "bar" ] || fail "get over https: $(sctl "${tls[@]}" get foo 2>&1)"
sctl "${tls[@]}" endpoint health 2>&1 | grep -q "is healthy" || fail "endpoint health over https"
# Over localhost too: the server certificate names it.
out=$(etcdctl --endpoints="https://localhost:$https_port" --command-timeout=10s "${tls[@]}" get foo --print-value-only 2>&1)
[ "$out" = "bar" ] || fail "get over https://localhost: $out"
# No client certificate: refused, and nothing written.
out=$(etcdctl --endpoints="$https_ep" --dial-timeout=3s --command-timeout=3s --cacert="$pki/ca.pem" put nocert x 2>&1)
[ $? -ne 0 ] || fail "a put without a client certificate succeeded: $out"
# A client certificate of a CA the server does not trust: refused.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/rogue-key.pem" -out "$pki/rogue.csr" \
  -subj /CN=rogue 2>/dev/null
openssl x509 -req -in "$pki/rogue.csr" -CA "$pki/other-ca.pem" -CAkey "$pki/other-ca-key.pem" -CAcreateserial \
  -out "$pki/rogue.pem" -days 2 -extfile "$pki/client.ext" 2>/dev/null
out=$(etcdctl --endpoints="$https_ep" --dial-timeout=3s --command-timeout=3s --cacert="$pki/ca.pem" \
  --cert="$pki/rogue.pem" --key="$pki/rogue-key.pem" put rogue x 2>&1)
[ $? -ne 0 ] || fail "a put with an untrusted client certificate succeeded: $out"
# The client refuses a server it cannot verify.
out=$(etcdctl --endpoints="$https_ep" --dial-timeout=3s --command-timeout=3s --cacert="$pki/other-ca.pem" \
  --cert="$pki/client.pem" --key="$pki/client-key.pem" get foo 2>&1)
[ $? -ne 0 ] || fail "etcdctl trusted a server certificate of another CA: $out"
# Plain text on the https port is not served.
out=$(etcdctl --endpoints="127.0.0.1:$https_port" --dial-timeout=3s --command-timeout=3s get foo 2>&1)
[ $? -ne 0 ] || fail "plain gRPC on the https port succeeded: $out"
# The http URL still serves gRPC and the HTTP/1.1 gateway, and sees the same data.
[ "$(etcdctl --endpoints="$http_ep" --command-timeout=10s get foo --print-value-only)" = "bar" ] || fail "get over http"
[ "$(curl -s "$http_ep/health")" = '{"health":"true"}' ] || fail "/health over http: $(curl -s "$http_ep/health")"
[ -z "$(sctl "${tls[@]}" get nocert rogue 2>&1)" ] || fail "refused puts left keys: $(sctl "${tls[@]}" get nocert rogue)"
# A watch over https sees a put made while it runs.
sctl "${tls[@]}" watch watched >"$tmp/watch.out" 2>&1 &
watch_pid=$!
sleep 1
sctl "${tls[@]}" put watched w1 >/dev/null || fail "put while watching over https"
for _ in $(seq 1 50); do grep -q "^w1$" "$tmp/watch.out" && break; sleep 0.1; done
grep -q "^w1$" "$tmp/watch.out" || fail "watch over https: $(cat "$tmp/watch.out")"
kill $watch_pid 2>/dev/null
wait $watch_pid 2>/dev/null
# The JSON gateway, /health, /version and /metrics on the same https port, with the client certificate.
ccurl() { curl -sS -m 10 --cacert "$pki/ca.pem" --cert "$pki/client.pem" --key "$pki/client-key.pem" "$@"; }
out=$(ccurl -X POST "$https_ep/v3/kv/range" -d '{"key":"Zm9v"}' 2>&1)  # foo
grep -q '"value":"YmFy"' <<<"$out" || fail "/v3/kv/range over https: $out"
out=$(ccurl -X POST "$https_ep/v3/kv/put" -d '{"key":"Z3c=","value":"dmlhIGh0dHBz"}' 2>&1)  # gw = via https
grep -q '"revision"' <<<"$out" || fail "/v3/kv/put over https: $out"
[ "$(sctl "${tls[@]}" get gw --print-value-only 2>&1)" = "via https" ] || fail "etcdctl does not see the gateway's put"
# A body far larger than a TLS record both ways (a 300 KB value, base64 in JSON).
printf '{"key":"Ymln","value":"%s"}' "$(head -c 300000 /dev/zero | tr '\0' 'x' | base64 -w0)" >"$tmp/big.json"  # big
out=$(ccurl -X POST "$https_ep/v3/kv/put" -d @"$tmp/big.json" 2>&1)
grep -q '"revision"' <<<"$out" || fail "a large put over https: ${out:0:200}"
ccurl -X POST "$https_ep/v3/kv/range" -d '{"key":"Ymln"}' >"$tmp/big.out" 2>&1
python3 -c 'import base64, json, sys
sys.exit(base64.b64decode(json.load(open(sys.argv[1]))["kvs"][0]["value"]) != b"x" * 300000)' "$tmp/big.out" ||
  fail "a large range over https: $(head -c 200 "$tmp/big.out")"
[ "$(sctl "${tls[@]}" get big --print-value-only 2>&1 | tr -d '\n' | wc -c)" = 300000 ] ||
  fail "etcdctl get of the large value"
[ "$(ccurl "$https_ep/health" 2>&1)" = '{"health":"true"}' ] ||
  fail "/health over https: $(ccurl "$https_ep/health" 2>&1)"
ccurl "$https_ep/version" 2>&1 | grep -q '"etcdserver"' || fail "/version over https: $(ccurl "$https_ep/version" 2>&1)"
ccurl "$https_ep/metrics" 2>&1 | grep -q "^etcd_server_has_leader 1" || fail "/metrics over https"
# curl speaks HTTP/1.1 there (ALPN), as etcdctl speaks h2.
ccurl -v -o /dev/null "$https_ep/health" 2>&1 | grep -q "ALPN: server accepted http/1.1" ||
  fail "ALPN: $(ccurl -v -o /dev/null "$https_ep/health" 2>&1 | grep -i alpn)"
# The https metrics URL: /metrics and /health only, with the client TLS (and its client-cert-auth).
ccurl "https://127.0.0.1:$metrics_port/metrics" 2>&1 | grep -q "^etcd_server_has_leader 1" ||
  fail "/metrics on the https metrics URL: $(ccurl "https://127.0.0.1:$metrics_port/metrics" 2>&1 | head -3)"
[ "$(ccurl "https://127.0.0.1:$metrics_port/health" 2>&1)" = '{"health":"true"}' ] || fail "/health on the metrics URL"
[ "$(ccurl -o /dev/null -w '%{http_code}' -X POST "https://127.0.0.1:$metrics_port/v3/kv/range" -d '{}')" = 404 ] ||
  fail "the https metrics URL serves the gateway"
# No client certificate, or plain HTTP: refused, logged as etcd logs it, and the member keeps serving.
out=$(curl -sS -m 10 --cacert "$pki/ca.pem" "$https_ep/health" 2>&1)
[ $? -ne 0 ] || fail "curl without a client certificate was answered: $out"
out=$(curl -sS -m 10 --cacert "$pki/ca.pem" "https://127.0.0.1:$metrics_port/metrics" 2>&1)
[ $? -ne 0 ] || fail "curl without a client certificate was answered on the metrics URL: ${out:0:200}"
out=$(curl -sS -m 10 "http://127.0.0.1:$https_port/health" 2>&1)
[ $? -ne 0 ] || fail "plain http on the https port was answered: $out"
for _ in $(seq 1 30); do
  grep -q "first record does not look like a TLS handshake" "$tmp/detcd.log" && break
  sleep 0.1
done
grep -q 'embed: rejected connection from "127.0.0.1:[0-9]*" (error "tls: client didn.t provide a certificate", Serv' \
  "$tmp/detcd.log" ||
  fail "no rejected-connection line for a missing client certificate: $(grep -i reject "$tmp/detcd.log")"
grep -q 'rejected connection from "127.0.0.1:[0-9]*" (error "tls: first record does not look like a TLS handshake"' \
  "$tmp/detcd.log" || fail "no rejected-connection line for plain http: $(grep -i reject "$tmp/detcd.log")"
[ "$(ccurl "$https_ep/health" 2>&1)" = '{"health":"true"}' ] || fail "/health over https after refusals"
grep -q "serving client requests on 127.0.0.1:$https_port" "$tmp/detcd.log" || fail "no https serving line"
grep -q "serving insecure client requests on 127.0.0.1:$http_port" "$tmp/detcd.log" || fail "no http serving line"
grep -q "listening for metrics on https://127.0.0.1:$metrics_port" "$tmp/detcd.log" || fail "no https metrics line"
grep -q "not served over TLS" "$tmp/detcd.log" && fail "a warning that the gateway is not served over TLS"
grep -q "serving insecure client requests on 127.0.0.1:$https_port" "$tmp/detcd.log" && fail "https port logged as insecure"
stop

# 2. --auto-tls: a self-signed pair in <data-dir>/fixtures/client, reused on restart.
auto_port=$(free_port)
auto_peer=$(free_port)
auto_ep="https://127.0.0.1:$auto_port"
auto_data="$tmp/auto"
auto_start() {
  # shellcheck disable=SC2046
  start "$tmp/auto.log" $(member_flags "$auto_data" "$auto_peer") --listen-client-urls="$auto_ep" \
    --advertise-client-urls="$auto_ep" --auto-tls
}
actl() { etcdctl --endpoints="$auto_ep" --command-timeout=10s --insecure-skip-tls-verify --insecure-transport=false "$@"; }
auto_start || { echo "$fails failures"; exit 1; }
cert="$auto_data/fixtures/client/cert.pem"
[ -s "$cert" ] && [ -s "$auto_data/fixtures/client/key.pem" ] || fail "no self-signed pair in fixtures/client"
openssl x509 -in "$cert" -noout -text 2>/dev/null | grep -q "IP Address:127.0.0.1" ||
  fail "the self-signed certificate does not name 127.0.0.1: $(openssl x509 -in "$cert" -noout -text 2>&1 | head -40)"
[ "$(stat -c %a "$auto_data/fixtures/client/key.pem")" = "600" ] || fail "key.pem is not 0600"
[ "$(actl put auto yes 2>&1)" = "OK" ] || fail "put with --auto-tls: $(actl put auto yes 2>&1)"
[ "$(actl get auto --print-value-only 2>&1)" = "yes" ] || fail "get with --auto-tls: $(actl get auto 2>&1)"
# curl trusting the self-signed certificate, without a client certificate (no --client-cert-auth here).
acurl() { curl -sS -m 10 --cacert "$cert" "$@"; }
out=$(acurl -X POST "$auto_ep/v3/kv/range" -d '{"key":"YXV0bw=="}' 2>&1)  # auto
grep -q '"value":"eWVz"' <<<"$out" || fail "/v3/kv/range with --auto-tls: $out"
[ "$(acurl "$auto_ep/health" 2>&1)" = '{"health":"true"}' ] ||
  fail "/health with --auto-tls: $(acurl "$auto_ep/health" 2>&1)"
acurl "$auto_ep/metrics" 2>&1 | grep -q "^etcd_server_has_leader 1" || fail "/metrics with --auto-tls"
out=$(curl -sS -m 10 "$auto_ep/health" 2>&1)
[ $? -ne 0 ] || fail "curl verified a self-signed certificate without being told to trust it: $out"
out=$(etcdctl --endpoints="$auto_ep" --dial-timeout=3s --command-timeout=3s get auto 2>&1)
[ $? -ne 0 ] || fail "etcdctl verified a self-signed certificate without being told to skip: $out"
sum=$(sha256sum <"$cert")
stop
auto_start || { echo "$fails failures"; exit 1; }
[ "$(sha256sum <"$cert")" = "$sum" ] || fail "the self-signed certificate was not reused on restart"
[ "$(actl get auto --print-value-only 2>&1)" = "yes" ] || fail "get after restart with --auto-tls"
stop

# 2b. As etcd 3.4: --trusted-ca-file without --client-cert-auth still requires a client certificate.
ca_port=$(free_port)
ca_ep="https://127.0.0.1:$ca_port"
# shellcheck disable=SC2046
start "$tmp/ca-only.log" $(member_flags "$tmp/ca-only" "$(free_port)") \
  --listen-client-urls="$ca_ep" --advertise-client-urls="$ca_ep" \
  --cert-file="$pki/server.pem" --key-file="$pki/server-key.pem" --trusted-ca-file="$pki/ca.pem" ||
  { echo "$fails failures"; exit 1; }
out=$(curl -sS -m 5 --cacert "$pki/ca.pem" "$ca_ep/health" 2>&1)
[ $? -ne 0 ] || fail "--trusted-ca-file alone served a client without a certificate: $out"
out=$(curl -sS -m 5 --cacert "$pki/ca.pem" --cert "$pki/client.pem" --key "$pki/client-key.pem" "$ca_ep/health" 2>&1)
[ "$out" = '{"health":"true"}' ] || fail "--trusted-ca-file alone, with a client certificate: $out"
grep -q "client-cert-auth = false" "$tmp/ca-only.log" || fail "the ClientTLS line should say the flag's value (false)"
stop

# 3. Peer TLS: 3-member clusters on https peer URLs.
declare -a cport pport cpids
cluster() {  # cluster <name> <detcd flags...>: starts 3 members, waits until each is ready
  local name="$1" i
  shift
  local initial=""
  for i in 1 2 3; do
    cport[$i]=$(free_port)
    pport[$i]=$(free_port)
    initial+="${initial:+,}m$i=https://127.0.0.1:${pport[$i]}"
  done
  for i in 1 2 3; do
    "$detcd" --name="m$i" --data-dir="$tmp/$name-m$i" --listen-client-urls="http://127.0.0.1:${cport[$i]}" \
      --advertise-client-urls="http://127.0.0.1:${cport[$i]}" --listen-peer-urls="https://127.0.0.1:${pport[$i]}" \
      --initial-advertise-peer-urls="https://127.0.0.1:${pport[$i]}" --initial-cluster="$initial" \
      --heartbeat-interval=50 --election-timeout=500 "$@" >"$tmp/$name-m$i.log" 2>&1 &
    cpids[$i]=$!
  done
  for i in 1 2 3; do
    for _ in $(seq 1 150); do
      grep -q "ready to serve client requests" "$tmp/$name-m$i.log" && break
      kill -0 "${cpids[$i]}" 2>/dev/null || break
      sleep 0.1
    done
    grep -q "ready to serve client requests" "$tmp/$name-m$i.log" ||
      { fail "$name: m$i did not become ready: $(tail -5 "$tmp/$name-m$i.log")"; return 1; }
  done
}
stop_cluster() { for i in 1 2 3; do kill -TERM "${cpids[$i]}" 2>/dev/null; done; for i in 1 2 3; do wait "${cpids[$i]}"; done; }
trap 'for i in 1 2 3 4; do kill -9 "${cpids[$i]:-}" 2>/dev/null; done' EXIT
mctl() { etcdctl --endpoints="http://127.0.0.1:${cport[$1]}" --command-timeout=10s "${@:2}"; }
across_members() {  # across_members <name>: a write through m1 is read through m2 and m3, and one through m3 on m1
  [ "$(mctl 1 put "$1" one 2>&1)" = "OK" ] || fail "$1: put through m1: $(mctl 1 put "$1" one 2>&1)"
  for i in 2 3; do
    [ "$(mctl "$i" get "$1" --print-value-only 2>&1)" = "one" ] || fail "$1: get through m$i: $(mctl "$i" get "$1" 2>&1)"
  done
  [ "$(mctl 3 put "$1" three 2>&1)" = "OK" ] || fail "$1: put through m3"
  [ "$(mctl 1 get "$1" --print-value-only 2>&1)" = "three" ] || fail "$1: get through m1 after a put through m3"
  [ "$(mctl 2 member list 2>/dev/null | grep -c "started, m[123], https://127.0.0.1:")" = "3" ] ||
    fail "$1: member list: $(mctl 2 member list 2>&1)"
}

peer_tls=(--peer-cert-file="$pki/peer.pem" --peer-key-file="$pki/peer-key.pem" --peer-trusted-ca-file="$pki/ca.pem"
  --peer-client-cert-auth)
if cluster peerfiles "${peer_tls[@]}"; then
  across_members peerfiles
  grep -q "peerTLS: cert = $pki/peer.pem, key = $pki/peer-key.pem, trusted-ca = $pki/ca.pem, client-cert-auth = true" \
    "$tmp/peerfiles-m1.log" || fail "no peerTLS line: $(grep -i tls "$tmp/peerfiles-m1.log")"
  # A plain (non-TLS) connection to a peer port is rejected, logged as etcd does, and the member keeps serving.
  curl -s -m 3 "http://127.0.0.1:${pport[2]}/members" >/dev/null 2>&1
  for _ in $(seq 1 30); do grep -q "rejected connection from" "$tmp/peerfiles-m2.log" && break; sleep 0.1; done
  grep -q 'rejected connection from "127.0.0.1:[0-9]*" (error "tls: first record does not look like a TLS handshake"' \
    "$tmp/peerfiles-m2.log" || fail "no rejected-connection line: $(grep -i reject "$tmp/peerfiles-m2.log")"
  [ "$(mctl 2 get peerfiles --print-value-only 2>&1)" = "three" ] || fail "m2 after a rejected plain connection"
  # A member joining the running cluster asks a peer port who is in it, over TLS.
  cport[4]=$(free_port)
  pport[4]=$(free_port)
  out=$(mctl 1 member add m4 --peer-urls="https://127.0.0.1:${pport[4]}" 2>&1)
  join=$(echo "$out" | sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p')
  [ -n "$join" ] || fail "member add m4: $out"
  "$detcd" --name=m4 --data-dir="$tmp/peerfiles-m4" --listen-client-urls="http://127.0.0.1:${cport[4]}" \
    --advertise-client-urls="http://127.0.0.1:${cport[4]}" --listen-peer-urls="https://127.0.0.1:${pport[4]}" \
    --initial-advertise-peer-urls="https://127.0.0.1:${pport[4]}" --initial-cluster="$join" \
    --initial-cluster-state=existing --heartbeat-interval=50 --election-timeout=500 "${peer_tls[@]}" \
    >"$tmp/peerfiles-m4.log" 2>&1 &
  cpids[4]=$!
  for _ in $(seq 1 150); do
    grep -q "ready to serve client requests" "$tmp/peerfiles-m4.log" && break
    kill -0 "${cpids[4]}" 2>/dev/null || break
    sleep 0.1
  done
  [ "$(mctl 4 get peerfiles --print-value-only 2>&1)" = "three" ] ||
    fail "the joined member does not serve: $(tail -5 "$tmp/peerfiles-m4.log")"
  kill -TERM "${cpids[4]}"
  wait "${cpids[4]}"
  stop_cluster
fi
grep -hE "rejected connection.*(certificate|x509|remote error)" "$tmp"/peerfiles-m*.log &&
  fail "the members rejected each other's certificates"

if cluster peerauto --peer-auto-tls; then
  across_members peerauto
  for i in 1 2 3; do
    [ -s "$tmp/peerauto-m$i/fixtures/peer/cert.pem" ] && [ -s "$tmp/peerauto-m$i/fixtures/peer/key.pem" ] ||
      fail "peerauto: no self-signed pair in m$i's fixtures/peer"
  done
  grep -q "peerTLS: cert = $tmp/peerauto-m1/fixtures/peer/cert.pem, key = $tmp/peerauto-m1/fixtures/peer/key.pem, trusted-ca = , client-cert-auth = false" \
    "$tmp/peerauto-m1.log" || fail "no auto peerTLS line: $(grep -i tls "$tmp/peerauto-m1.log")"
  stop_cluster
fi

# 4. Refused before anything is written, exit code 1.
refused() {  # refused <what> <expected message (grep -E)> <detcd flags...>
  local what="$1" want="$2" dir="$tmp/refused-$RANDOM"
  shift 2
  out=$("$detcd" --name=n1 --data-dir="$dir" "$@" 2>&1)
  rc=$?
  [ $rc -eq 1 ] || fail "$what: exit code $rc, want 1: $out"
  grep -qE "$want" <<<"$out" || fail "$what: message: $out"
  [ ! -e "$dir" ] || fail "$what: the data directory was created"
}
p=$(free_port)
https_peer=(--listen-peer-urls="https://127.0.0.1:$p" --initial-advertise-peer-urls="https://127.0.0.1:$p"
  --initial-cluster="n1=https://127.0.0.1:$p")
refused "a missing --peer-cert-file" "open $pki/missing.pem: no such file or directory" "${https_peer[@]}" \
  --peer-cert-file="$pki/missing.pem" --peer-key-file="$pki/peer-key.pem"
refused "a missing --peer-trusted-ca-file" "open $pki/missing-ca.pem: no such file or directory" "${https_peer[@]}" \
  --peer-cert-file="$pki/peer.pem" --peer-key-file="$pki/peer-key.pem" --peer-trusted-ca-file="$pki/missing-ca.pem"
refused "a peer key of another certificate" "tls: private key does not match public key" "${https_peer[@]}" \
  --peer-cert-file="$pki/peer.pem" --peer-key-file="$pki/server-key.pem"
refused "https peer URLs without peer certificates" "KeyFile and CertFile are not presented" "${https_peer[@]}"
c=$(free_port)
refused "an https metrics URL without a certificate" \
  "cannot listen on TLS for 127.0.0.1:$c: KeyFile and CertFile are not presented" \
  --listen-metrics-urls="https://127.0.0.1:$c"
refused "a missing --cert-file" "open $pki/missing.pem: no such file or directory" \
  --listen-client-urls="https://127.0.0.1:$c" --advertise-client-urls="https://127.0.0.1:$c" \
  --cert-file="$pki/missing.pem" --key-file="$pki/server-key.pem"
refused "a missing --trusted-ca-file" "open $pki/missing-ca.pem: no such file or directory" \
  --listen-client-urls="https://127.0.0.1:$c" --advertise-client-urls="https://127.0.0.1:$c" \
  --cert-file="$pki/server.pem" --key-file="$pki/server-key.pem" --trusted-ca-file="$pki/missing-ca.pem" \
  --client-cert-auth
refused "a key of another certificate" "tls: private key does not match public key" \
  --listen-client-urls="https://127.0.0.1:$c" --advertise-client-urls="https://127.0.0.1:$c" \
  --cert-file="$pki/server.pem" --key-file="$pki/client-key.pem"

rm -rf "${tmp:?}"/* 2>/dev/null  # the members' data: the sandbox may outlive the test
echo "$fails failures"
[ $fails -eq 0 ]
