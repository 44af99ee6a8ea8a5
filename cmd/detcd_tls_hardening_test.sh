#!/usr/bin/env bash
# TLS hardening as etcd 3.4 has it, tried the way an operator would, with a PKI made by `openssl ca`:
# - --client-crl-file: a client certificate revoked with `openssl ca -revoke` + `-gencrl` is refused (stock etcdctl
#   and curl fail, the log says "transport: certificate serial <hex> revoked" as etcd's does) while a good one works;
#   a certificate revoked while the member runs is refused from then on (the CRL is re-read when it changes).
# - --cipher-suites (Go's names): `openssl s_client -tls1_2 -cipher` with a suite left out fails the handshake, one in
#   the list succeeds, on the client port and on the peer port; TLS 1.3 is still served (Go cannot restrict it).
# - --peer-crl-file: a peer port refuses a revoked member certificate.
# - --peer-cert-allowed-cn: a 2-member cluster whose second member's peer certificate has another CN does not form
#   (the log line says why); with the right certificate the same member joins.
# - Refused at start-up, nothing written: a missing or malformed CRL file, an unknown cipher suite name (etcd's
#   `unexpected TLS cipher suite "FOO"`, as a flag, an ETCD_* variable and a config-file key), an allowed CN together
#   with an allowed host name (etcd's words).
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
command -v etcdctl >/dev/null || { echo "etcdctl not installed (Debian etcd-client)"; exit 1; }
command -v openssl >/dev/null || { echo "openssl not installed (Debian openssl)"; exit 1; }
command -v curl >/dev/null || { echo "curl not installed (Debian curl)"; exit 1; }

# The PKI: an `openssl ca` database, so that certificates can be revoked and a CRL generated as operators do.
pki="$tmp/pki"
mkdir -p "$pki/ca/newcerts"
(
  cd "$pki" || exit 1
  set -e
  touch ca/index.txt
  echo 1000 >ca/serial
  echo 1000 >ca/crlnumber
  cat >ca.cnf <<'CNF'
[ca]
default_ca = test_ca
[test_ca]
dir = ca
database = ca/index.txt
new_certs_dir = ca/newcerts
serial = ca/serial
crlnumber = ca/crlnumber
default_md = sha256
default_days = 2
default_crl_days = 2
policy = any_cn
copy_extensions = copy
unique_subject = no
[any_cn]
commonName = supplied
CNF
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca.pem -days 2 \
    -subj "/CN=detcd hardening test ca" 2>/dev/null
  mk() {  # mk <file name> <CN> <extensions>
    printf "$3" >"$1.ext"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1-key.pem" -out "$1.csr" -subj "/CN=$2" \
      2>/dev/null
    openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca-key.pem -in "$1.csr" -out "$1.pem" -extfile "$1.ext" \
      -notext 2>/dev/null
  }
  san='subjectAltName=IP:127.0.0.1,DNS:localhost\n'
  mk server server "${san}extendedKeyUsage=serverAuth\n"
  mk client client 'extendedKeyUsage=clientAuth\n'
  mk revoked revoked 'extendedKeyUsage=clientAuth\n'
  mk later later 'extendedKeyUsage=clientAuth\n'
  mk peer peer "${san}extendedKeyUsage=serverAuth,clientAuth\n"
  mk peer-revoked peer "${san}extendedKeyUsage=serverAuth,clientAuth\n"
  mk other-cn other-member "${san}extendedKeyUsage=serverAuth,clientAuth\n"
  openssl ca -config ca.cnf -cert ca.pem -keyfile ca-key.pem -revoke revoked.pem 2>/dev/null
  openssl ca -config ca.cnf -cert ca.pem -keyfile ca-key.pem -revoke peer-revoked.pem 2>/dev/null
  openssl ca -config ca.cnf -cert ca.pem -keyfile ca-key.pem -gencrl -out crl.pem 2>/dev/null
) || { echo "FAIL: making the PKI with openssl ca"; exit 1; }
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f'; }

pid=
start() { start_detcd "$1" "$detcd" "${@:2}"; }  # start <log> <detcd flags...> (test_lib.sh)
stop() { stop_detcd; }

# 1. One member: https client and peer ports, client certificates required, CRLs and cipher suites on both.
cport=$(free_port)
pport=$(free_port)
ep="https://127.0.0.1:$cport"
allowed=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305
start "$tmp/m.log" --name=m --data-dir="$tmp/m" --listen-client-urls="$ep" --advertise-client-urls="$ep" \
  --listen-peer-urls="https://127.0.0.1:$pport" --initial-advertise-peer-urls="https://127.0.0.1:$pport" \
  --initial-cluster="m=https://127.0.0.1:$pport" \
  --cert-file="$pki/server.pem" --key-file="$pki/server-key.pem" --trusted-ca-file="$pki/ca.pem" --client-cert-auth \
  --client-crl-file="$pki/crl.pem" \
  --peer-cert-file="$pki/peer.pem" --peer-key-file="$pki/peer-key.pem" --peer-trusted-ca-file="$pki/ca.pem" \
  --peer-client-cert-auth --peer-crl-file="$pki/crl.pem" --cipher-suites="$allowed" || { echo "$fails failures"; exit 1; }
grep -q "crl-file = $pki/crl.pem" "$tmp/m.log" || fail "the ClientTLS line does not name the CRL"
ctl() {  # ctl <cert name> <etcdctl args...>
  local who=$1
  shift
  etcdctl --endpoints="$ep" --dial-timeout=3s --command-timeout=3s --cacert="$pki/ca.pem" --cert="$pki/$who.pem" \
    --key="$pki/$who-key.pem" "$@" 2>&1
}
ccurl() {  # ccurl <cert name> <curl args...>
  local who=$1
  shift
  curl -sS -m 5 --cacert "$pki/ca.pem" --cert "$pki/$who.pem" --key "$pki/$who-key.pem" "$@" 2>&1
}
# A good certificate works; the revoked one is refused by etcdctl and curl alike, and nothing is written.
[ "$(ctl client put k good)" = "OK" ] || fail "put with a good certificate: $(ctl client put k good)"
out=$(ctl revoked put k revoked)
[ $? -ne 0 ] || fail "a put with a revoked certificate succeeded: $out"
[ "$(ctl client get k --print-value-only)" = "good" ] || fail "the revoked put was applied: $(ctl client get k)"
[ "$(ccurl client "$ep/health")" = '{"health":"true"}' ] || fail "curl /health, good cert: $(ccurl client "$ep/health")"
out=$(ccurl revoked "$ep/health")
[ $? -ne 0 ] || fail "curl with a revoked certificate got an answer: $out"
out=$(ccurl revoked -X POST "$ep/v3/kv/put" -d '{"key":"aw==","value":"cmV2b2tlZA=="}')
[ $? -ne 0 ] || fail "curl put with a revoked certificate got an answer: $out"
revoked_serial=$(serial_of "$pki/revoked.pem")
grep -q "rejected connection from \"127.0.0.1:[0-9]*\" (error \"transport: certificate serial $revoked_serial revoked\", ServerName \"\", IPAddresses \[\], DNSNames \[\])" "$tmp/m.log" ||
  fail "no etcd-style rejection for serial $revoked_serial: $(grep rejected "$tmp/m.log" | tail -3)"
# Revoked while the member runs: refused from the next connection on, no restart.
[ "$(ctl later put k later)" = "OK" ] || fail "put with the later-revoked certificate before its revocation"
(
  cd "$pki" && openssl ca -config ca.cnf -cert ca.pem -keyfile ca-key.pem -revoke later.pem 2>/dev/null &&
    openssl ca -config ca.cnf -cert ca.pem -keyfile ca-key.pem -gencrl -out crl.pem.new 2>/dev/null &&
    mv crl.pem.new crl.pem
) || fail "revoking a certificate with openssl ca"
out=$(ctl later put k later2)
[ $? -ne 0 ] || fail "a certificate revoked while running still works: $out"
grep -q "certificate serial $(serial_of "$pki/later.pem") revoked" "$tmp/m.log" || fail "no rejection of the later serial"
[ "$(ctl client get k --print-value-only)" = "later" ] || fail "after the new CRL: $(ctl client get k)"

# Cipher suites: TLS 1.2 only with the listed ones, on the client port and on the peer port; TLS 1.3 unaffected.
sclient() {  # sclient <port> <cert name> <openssl s_client args...>: prints the negotiated "Protocol, Cipher"
  local port=$1 who=$2
  shift 2
  openssl s_client -connect "127.0.0.1:$port" -CAfile "$pki/ca.pem" -cert "$pki/$who.pem" -key "$pki/$who-key.pem" \
    "$@" </dev/null 2>&1 | grep -o "New, [^,]*, Cipher is .*"
}
for port in "$cport" "$pport"; do
  who=client
  [ "$port" = "$pport" ] && who=peer
  out=$(sclient "$port" $who -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)
  [ "$out" = "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256" ] || fail "port $port, a listed suite: $out"
  out=$(sclient "$port" $who -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305)
  [ "$out" = "New, TLSv1.2, Cipher is ECDHE-ECDSA-CHACHA20-POLY1305" ] || fail "port $port, the alias: $out"
  out=$(sclient "$port" $who -tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384)
  [ "$out" = "New, (NONE), Cipher is (NONE)" ] || fail "port $port, a suite left out was negotiated: $out"
  out=$(sclient "$port" $who -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384)
  [ "$out" = "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" ] || fail "port $port, TLS 1.3: $out"
done
grep -q 'error "tls: no cipher suite supported by both client and server"' "$tmp/m.log" ||
  fail "no Go-worded rejection for the cipher mismatch: $(grep rejected "$tmp/m.log" | tail -2)"
# The peer port refuses a revoked member certificate (after its handshake, as etcd).
echo | openssl s_client -connect "127.0.0.1:$pport" -CAfile "$pki/ca.pem" -cert "$pki/peer-revoked.pem" \
  -key "$pki/peer-revoked-key.pem" >/dev/null 2>&1
for _ in $(seq 1 20); do grep -q "serial $(serial_of "$pki/peer-revoked.pem") revoked" "$tmp/m.log" && break; sleep 0.1; done
grep -q "rejected connection from \"127.0.0.1:[0-9]*\" (error \"transport: certificate serial $(serial_of "$pki/peer-revoked.pem") revoked\", ServerName \"\", IPAddresses \[\"127.0.0.1\"\], DNSNames \[\"localhost\"\])" "$tmp/m.log" ||
  fail "the peer port did not refuse the revoked member certificate: $(grep rejected "$tmp/m.log" | tail -2)"
stop

# 2. --peer-cert-allowed-cn: the second member's certificate says CN=other-member; the cluster does not form.
p1=$(free_port); p2=$(free_port); c1=$(free_port); c2=$(free_port)
cluster="a=https://127.0.0.1:$p1,b=https://127.0.0.1:$p2"
member() {  # member <name> <client port> <peer port> <cert name>: started in the background, its log $tmp/<name>.log
  "$detcd" --name="$1" --data-dir="$tmp/cn-$1" --listen-client-urls="http://127.0.0.1:$2" \
    --advertise-client-urls="http://127.0.0.1:$2" --listen-peer-urls="https://127.0.0.1:$3" \
    --initial-advertise-peer-urls="https://127.0.0.1:$3" --initial-cluster="$cluster" \
    --peer-cert-file="$pki/$4.pem" --peer-key-file="$pki/$4-key.pem" --peer-trusted-ca-file="$pki/ca.pem" \
    --peer-client-cert-auth --peer-cert-allowed-cn=peer >>"$tmp/$1.log" 2>&1 &
}
member a "$c1" "$p1" peer
pid_a=$!
member b "$c2" "$p2" other-cn
pid_b=$!
# (a's own dialing of b fails on b's certificate too, and may be logged first: wait for the refusal of b's dialing.)
rejected='rejected connection from "127.0.0.1:[0-9]*" (error "client certificate authentication failed", ServerName "", IPAddresses \["127.0.0.1"\], DNSNames \["localhost"\])'
for _ in $(seq 1 100); do grep -q "$rejected" "$tmp/a.log" && break; sleep 0.1; done
line=$(grep -m1 "$rejected" "$tmp/a.log")
[ -n "$line" ] || fail "member a did not refuse b's CN: $(tail -5 "$tmp/a.log")"
echo "member a: $line"
sleep 2
out=$(etcdctl --endpoints="http://127.0.0.1:$c1" --command-timeout=2s put k v 2>&1)
[ $? -ne 0 ] || fail "a cluster with a member of the wrong CN took a write: $out"
grep -q "ready to serve client requests" "$tmp/a.log" && fail "member a became ready with b refused"
kill -TERM $pid_b; wait $pid_b
# The same member with a certificate of the allowed CN joins.
rm -rf "$tmp/cn-b"
member b "$c2" "$p2" peer
pid_b=$!
for _ in $(seq 1 150); do
  [ "$(etcdctl --endpoints="http://127.0.0.1:$c2" --command-timeout=1s put k v 2>/dev/null)" = "OK" ] && break
  sleep 0.1
done
[ "$(etcdctl --endpoints="http://127.0.0.1:$c1" --command-timeout=3s get k --print-value-only 2>&1)" = "v" ] ||
  fail "with the allowed CN the cluster did not form: $(tail -3 "$tmp/b.log")"
kill -TERM $pid_a $pid_b; wait $pid_a $pid_b

# 3. Refused at start-up with etcd's words where it has them, before anything is written.
refused() {  # refused <what> <expected text> <detcd args...>
  local what=$1 want=$2
  shift 2
  rm -rf "$tmp/r"
  out=$("$detcd" --name=r --data-dir="$tmp/r" --listen-client-urls="https://127.0.0.1:$(free_port)" \
    --advertise-client-urls="https://127.0.0.1:1" --listen-peer-urls="http://127.0.0.1:$(free_port)" \
    --cert-file="$pki/server.pem" --key-file="$pki/server-key.pem" "$@" 2>&1)
  local rc=$?
  [ $rc -eq 1 ] || fail "$what: exit $rc, not 1: $out"
  grep -qF -- "$want" <<<"$out" || fail "$what: no \"$want\" in: $out"
  [ ! -e "$tmp/r" ] || fail "$what: the data directory was created"
}
refused "a missing CRL" "--client-crl-file: open $tmp/none.crl: no such file or directory" \
  --client-crl-file="$tmp/none.crl"
echo "not a CRL" >"$tmp/bad.crl"
refused "a malformed CRL" "crl file $tmp/bad.crl: x509: malformed certificate revocation list" \
  --client-crl-file="$tmp/bad.crl"
refused "an unknown cipher suite" 'unexpected TLS cipher suite "FOO"' \
  --cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,FOO
refused "an empty name in the list" 'unexpected TLS cipher suite ""' --cipher-suites=TLS_AES_128_GCM_SHA256,
refused "a CN and a host name" 'AllowedCN and AllowedHostname are mutually exclusive (cn="a", hostname="b")' \
  --peer-cert-file="$pki/peer.pem" --peer-key-file="$pki/peer-key.pem" --peer-cert-allowed-cn=a \
  --peer-cert-allowed-hostname=b
out=$(ETCD_CIPHER_SUITES=BAR "$detcd" --name=r --data-dir="$tmp/r" 2>&1)
grep -qF 'unexpected TLS cipher suite "BAR"' <<<"$out" || fail "ETCD_CIPHER_SUITES=BAR: $out"
printf 'name: r\ndata-dir: %s\ncipher-suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BAZ]\n' "$tmp/r" >"$tmp/c.yml"
out=$("$detcd" --config-file="$tmp/c.yml" 2>&1)
grep -qF 'unexpected TLS cipher suite "BAZ"' <<<"$out" || fail "cipher-suites in a config file: $out"
[ ! -e "$tmp/r" ] || fail "a refused start created the data directory"

echo "$fails failures"
[ "$fails" -eq 0 ]
