#!/usr/bin/env bash
# etcd's auth walkthrough with stock etcdctl (Debian etcd-client), unchanged: `user add root`, `user grant-role root
# root`, `role add`, `role grant-permission --prefix`, `user add`, `user grant-role`, `auth enable`; then `--user`
# reads and writes that are allowed and refused (etcd's errors), no credentials and a wrong password refused, a watch
# on a range the user may not read canceled, admin commands refused to a plain user, a permission revoked while the
# user's token is in use, `auth disable`. Done with simple tokens on an http port, then again with JWT tokens (RS256
# keys made with openssl; the token is a JWT that a third party verifies with the public key) on an https port. The
# JSON gateway: /v3/auth/authenticate gives a token, /v3/kv/* take it in the Authorization header. python3-etcd3
# authenticates (over TLS, with a JWT); a JWT from before an auth change is refused as old. The Lock service acts as
# its caller. With --client-cert-auth, a client certificate's common name is the user when
# no token is sent (cert-only users), never through the gateway. Bad --auth-token values stop the member at start with etcd's error.
set -u
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port
detcd="$1"
command -v etcdctl >/dev/null || { echo "etcdctl not installed (Debian etcd-client)"; exit 1; }
command -v openssl >/dev/null || { echo "openssl not installed (Debian openssl)"; exit 1; }
py=/usr/bin/python3  # Debian's interpreter, where python3-etcd3 and python3-jwt are installed

# expect_ok WHAT COMMAND...: the command succeeds; expect_err WHAT TEXT COMMAND...: it fails saying TEXT.
expect_ok() {
  local what=$1 out
  shift
  out=$("$@" 2>&1) || fail "$what: $out"
}
expect_err() {
  local what=$1 text=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    fail "$what succeeded: $out"
  elif ! grep -qF -- "$text" <<<"$out"; then
    fail "$what: expected '$text', got: $out"
  fi
}

# walkthrough ETCDCTL...: etcd's auth walkthrough against a fresh member, with the etcdctl command line given.
walkthrough() {
  local -a e=("$@")
  expect_ok "user add root" "${e[@]}" user add root:rootpw
  expect_ok "grant root" "${e[@]}" user grant-role root root
  expect_ok "role add" "${e[@]}" role add rw
  expect_ok "grant-permission --prefix" "${e[@]}" role grant-permission --prefix rw readwrite foo
  expect_ok "role add ro" "${e[@]}" role add ro
  expect_ok "grant-permission read" "${e[@]}" role grant-permission ro read config
  expect_ok "user add alice" "${e[@]}" user add alice:alicepw
  expect_ok "grant alice" "${e[@]}" user grant-role alice rw
  expect_ok "grant alice ro" "${e[@]}" user grant-role alice ro
  expect_ok "put config before auth" "${e[@]}" put config v0
  out=$("${e[@]}" auth enable 2>&1)
  [ "$out" = "Authentication Enabled" ] || fail "auth enable: $out"

  local -a alice=("${e[@]}" --user alice:alicepw) root=("${e[@]}" --user root:rootpw)
  expect_ok "alice puts foo1" "${alice[@]}" put foo1 v1
  out=$("${alice[@]}" get foo1 --print-value-only 2>&1)
  [ "$out" = "v1" ] || fail "alice gets foo1: $out"
  expect_ok "alice reads the foo prefix" "${alice[@]}" get foo --prefix
  out=$("${alice[@]}" get config --print-value-only 2>&1)
  [ "$out" = "v0" ] || fail "alice reads config (read-only): $out"
  expect_err "alice writes config (read-only)" "etcdserver: permission denied" "${alice[@]}" put config v1
  expect_err "alice puts bar" "etcdserver: permission denied" "${alice[@]}" put bar v
  expect_err "alice gets bar" "etcdserver: permission denied" "${alice[@]}" get bar
  expect_err "alice reads everything" "etcdserver: permission denied" "${alice[@]}" get "" --prefix
  expect_err "alice's txn touching bar" "etcdserver: permission denied" "${alice[@]}" txn <<<$'\nput foo2 x\nput bar x\n\n'
  expect_err "no credentials" "etcdserver: user name is empty" "${e[@]}" get foo1
  expect_err "wrong password" "etcdserver: authentication failed, invalid user ID or password" \
    "${e[@]}" --user alice:nope get foo1
  expect_err "alice lists users" "etcdserver: permission denied" "${alice[@]}" user list
  expect_err "alice adds a user" "etcdserver: permission denied" "${alice[@]}" user add eve:evepw
  expect_err "alice compacts" "etcdserver: permission denied" "${alice[@]}" compact 2
  expect_err "alice takes a snapshot" "etcdserver: permission denied" "${alice[@]}" snapshot save "$tmp/alice.db"
  expect_err "root deletes root" "etcdserver: invalid auth management" "${root[@]}" user delete root
  expect_err "role not granted" "etcdserver: role is not granted to the user" "${root[@]}" user revoke-role alice nope
  # A watch on a range alice may not read is canceled at creation.
  out=$(timeout 5 "${alice[@]}" watch bar 2>&1)
  grep -q "permission denied" <<<"$out" || fail "alice's watch on bar: $out"
  out=$("${root[@]}" user list 2>&1)
  [ "$out" = $'alice\nroot' ] || fail "root lists users: $out"
  out=$("${root[@]}" role get rw 2>&1)
  grep -q "\[foo, fop) (prefix foo)" <<<"$out" || fail "role get rw: $out"
  out=$("${alice[@]}" user get alice 2>&1)
  grep -q "Roles: ro rw" <<<"$out" || fail "alice gets herself: $out"
  expect_ok "root writes bar" "${root[@]}" put bar rootval
  # The permission goes: alice's next write is refused.
  expect_ok "revoke foo" "${root[@]}" role revoke-permission rw foo --prefix
  expect_err "alice after the revocation" "etcdserver: permission denied" "${alice[@]}" put foo1 v2
  expect_ok "change alice's password" "${root[@]}" user passwd alice --interactive=false <<<"newpw"
  expect_err "alice's old password" "authentication failed" "${e[@]}" --user alice:alicepw get config
  expect_ok "alice's new password" "${e[@]}" --user alice:newpw get config
  out=$("${root[@]}" auth disable 2>&1)
  [ "$out" = "Authentication Disabled" ] || fail "auth disable: $out"
  out=$("${e[@]}" get bar --print-value-only 2>&1)
  [ "$out" = "rootval" ] || fail "after auth disable: $out"
}

# ---- simple tokens, http ----
cport=$(free_port)
pport=$(free_port)
member() {
  exec "$detcd" --name=a --data-dir="$tmp/$1" --listen-client-urls="$2://127.0.0.1:$cport" \
    --advertise-client-urls="$2://127.0.0.1:$cport" --listen-peer-urls="http://127.0.0.1:$pport" \
    --initial-advertise-peer-urls="http://127.0.0.1:$pport" --initial-cluster="a=http://127.0.0.1:$pport" "${@:3}"
}
start_detcd "$tmp/simple.log" member simple http || { echo "$fails failures"; exit 1; }
walkthrough etcdctl --endpoints="127.0.0.1:$cport"

# The gateway: a token from /v3/auth/authenticate, sent in the Authorization header.
e=(etcdctl --endpoints="127.0.0.1:$cport")
"${e[@]}" auth enable >/dev/null 2>&1 || fail "auth enable again: $("${e[@]}" --user root:rootpw auth enable 2>&1)"
b64() { printf %s "$1" | base64 -w0; }
token=$(curl -s -X POST "http://127.0.0.1:$cport/v3/auth/authenticate" -d '{"name":"root","password":"rootpw"}' |
  $py -c 'import json,sys; print(json.load(sys.stdin).get("token",""))')
[ -n "$token" ] || fail "the gateway's authenticate gave no token"
out=$(curl -s -X POST "http://127.0.0.1:$cport/v3/kv/put" -H "Authorization: $token" \
  -d "{\"key\":\"$(b64 gw)\",\"value\":\"$(b64 yes)\"}")
grep -q '"revision"' <<<"$out" || fail "gateway put with the token: $out"
out=$(curl -s -X POST "http://127.0.0.1:$cport/v3/kv/range" -d "{\"key\":\"$(b64 gw)\"}")
grep -q "user name is empty" <<<"$out" || fail "gateway range without a token: $out"
out=$(curl -s -X POST "http://127.0.0.1:$cport/v3/kv/range" -H "Authorization: not-a-token" -d "{\"key\":\"$(b64 gw)\"}")
grep -q "invalid auth token" <<<"$out" || fail "gateway range with a bad token: $out"
out=$(curl -s -X POST "http://127.0.0.1:$cport/v3/auth/user/list" -H "Authorization: $token" -d '{}')
grep -q '"alice"' <<<"$out" || fail "gateway user list: $out"
# The Lock service acts as its caller: root may lock anywhere, alice (who may now only read "config") nowhere.
out=$(curl -s -X POST "http://127.0.0.1:$cport/v3/lock/lock" -H "Authorization: $token" -d "{\"name\":\"$(b64 locks/a)\"}")
grep -q '"key"' <<<"$out" || fail "root's lock: $out"
alice=$(curl -s -X POST "http://127.0.0.1:$cport/v3/auth/authenticate" -d '{"name":"alice","password":"newpw"}' |
  $py -c 'import json,sys; print(json.load(sys.stdin).get("token",""))')
out=$(curl -s -X POST "http://127.0.0.1:$cport/v3/lock/lock" -H "Authorization: $alice" -d "{\"name\":\"$(b64 locks/b)\"}")
grep -q "permission denied" <<<"$out" || fail "alice's lock: $out"

stop_detcd

# ---- JWT tokens (RS256), https ----
pki="$tmp/pki"
mkdir -p "$pki"
(
  cd "$pki" || exit 1
  set -e
  openssl genrsa -out jwt.key 2048 2>/dev/null
  openssl rsa -in jwt.key -pubout -out jwt.pub 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca.pem -days 2 \
    -subj "/CN=detcd auth test ca" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server-key.pem -out server.csr \
    -subj "/CN=server" 2>/dev/null
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 2 \
    -extfile server.ext 2>/dev/null
) || fail "making keys"
jwt="jwt,pub-key=$pki/jwt.pub,priv-key=$pki/jwt.key,sign-method=RS256,ttl=10m"
start_detcd "$tmp/jwt.log" member jwt https --auth-token="$jwt" --cert-file="$pki/server.pem" \
  --key-file="$pki/server-key.pem" || { echo "$fails failures"; exit 1; }
walkthrough etcdctl --endpoints="https://127.0.0.1:$cport" --cacert="$pki/ca.pem"
etcdctl --endpoints="https://127.0.0.1:$cport" --cacert="$pki/ca.pem" auth enable >/dev/null 2>&1 ||
  fail "auth enable (jwt) again"
token=$(curl -s --cacert "$pki/ca.pem" -X POST "https://127.0.0.1:$cport/v3/auth/authenticate" \
  -d '{"name":"root","password":"rootpw"}' | $py -c 'import json,sys; print(json.load(sys.stdin).get("token",""))')
# A JWT as etcd makes them: RS256, its claims username, revision and exp, verifiable with the public key alone.
out=$($py - "$token" "$pki/jwt.pub" <<'EOF' 2>&1
import sys, jwt
claims = jwt.decode(sys.argv[1], open(sys.argv[2]).read(), algorithms=["RS256"])
print(claims["username"], sorted(claims))
EOF
)
[ "$out" = "root ['exp', 'revision', 'username']" ] || fail "the token is not etcd's JWT: $out"
out=$(curl -s --cacert "$pki/ca.pem" -X POST "https://127.0.0.1:$cport/v3/kv/range" -H "Authorization: $token" \
  -d "{\"key\":\"$(b64 bar)\"}")
grep -q '"kvs"' <<<"$out" || fail "gateway range with a JWT: $out"
# python3-etcd3 authenticates with a user and password (grpcio sends call credentials only over TLS).
if $py -c 'import etcd3' 2>/dev/null; then
  out=$($py - "$cport" "$pki/ca.pem" <<'EOF' 2>&1
import sys, etcd3
c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), ca_cert=sys.argv[2], user="root", password="rootpw")
c.put("py", "ok")
print(c.get("py")[0].decode())
try:
    etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), ca_cert=sys.argv[2], user="root", password="wrong").get("py")
    print("wrong password accepted")
except Exception as e:
    print("refused:", e)
EOF
)
  grep -q "^ok$" <<<"$out" || fail "python3-etcd3 with a user: $out"
  grep -q "invalid user ID or password" <<<"$out" || fail "python3-etcd3 with a wrong password: $out"
else
  fail "python3-etcd3 not installed (Debian python3-etcd3)"
fi
# A JWT from before an auth change is refused as etcd refuses it (the client logs in again).
etcdctl --endpoints="https://127.0.0.1:$cport" --cacert="$pki/ca.pem" --user root:rootpw role add extra >/dev/null 2>&1 ||
  fail "role add extra"
out=$(curl -s --cacert "$pki/ca.pem" -X POST "https://127.0.0.1:$cport/v3/kv/range" -H "Authorization: $token" \
  -d "{\"key\":\"$(b64 bar)\"}")
grep -q "revision of auth store is old" <<<"$out" || fail "a JWT from before a role was added: $out"
# A JWT signed by another key is refused.
forged=$($py - <<'EOF'
import jwt, time
from cryptography.hazmat.primitives.asymmetric import rsa
k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
print(jwt.encode({"username": "root", "revision": 99, "exp": int(time.time()) + 600}, k, algorithm="RS256"))
EOF
)
out=$(curl -s --cacert "$pki/ca.pem" -X POST "https://127.0.0.1:$cport/v3/kv/range" -H "Authorization: $forged" \
  -d "{\"key\":\"$(b64 bar)\"}")
grep -q "invalid auth token" <<<"$out" || fail "a forged JWT: $out"
stop_detcd

# ---- client certificates as identity: with --client-cert-auth and no token, the certificate's CN is the user ----
(
  cd "$pki" || exit 1
  set -e
  printf 'extendedKeyUsage=clientAuth\n' >client.ext
  for cn in root carol mallory; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$cn-key.pem" -out "$cn.csr" \
      -subj "/CN=$cn" 2>/dev/null
    openssl x509 -req -in "$cn.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out "$cn.pem" -days 2 \
      -extfile client.ext 2>/dev/null
  done
) || fail "making client certificates"
start_detcd "$tmp/cn.log" member cn https --client-cert-auth --trusted-ca-file="$pki/ca.pem" \
  --cert-file="$pki/server.pem" --key-file="$pki/server-key.pem" || { echo "$fails failures"; exit 1; }
as() { etcdctl --endpoints="https://127.0.0.1:$cport" --cacert="$pki/ca.pem" --cert="$pki/$1.pem" --key="$pki/$1-key.pem" "${@:2}"; }
expect_ok "cert-only root" as root user add root --no-password
expect_ok "root role" as root user grant-role root root
expect_ok "cert-only carol" as root user add carol --no-password
expect_ok "role add" as root role add app
expect_ok "grant app" as root role grant-permission --prefix app readwrite app/
expect_ok "grant carol" as root user grant-role carol app
expect_ok "auth enable (cn)" as root auth enable
expect_ok "carol writes app/ by her certificate" as carol put app/x 1
expect_err "carol writes elsewhere" "etcdserver: permission denied" as carol put other 1
expect_err "mallory (no such user)" "etcdserver: permission denied" as mallory put app/x 2
expect_err "carol administers" "etcdserver: permission denied" as carol user list
out=$(as root user list 2>&1)
grep -q "carol" <<<"$out" || fail "root by certificate lists users: $out"
expect_err "a no-password user cannot log in with a password" "authentication failed" as mallory --user carol:x get app/x
# The gateway never takes a certificate's name, nor a client's claim to one.
out=$(curl -s --cacert "$pki/ca.pem" --cert "$pki/root.pem" --key "$pki/root-key.pem" -H "Grpc-Metadata-Detcd-Client-Cn: root" \
  -X POST "https://127.0.0.1:$cport/v3/auth/user/list" -d '{}')
grep -q "user name is empty" <<<"$out" || fail "the gateway took a certificate's name: $out"
stop_detcd

# ---- bad --auth-token values stop the member at start, in etcd's words ----
out=$(member bad http --auth-token=bogus 2>&1)
grep -q "auth: invalid auth options" <<<"$out" || fail "--auth-token=bogus: $out"
out=$(timeout 10 "$detcd" --name=a --data-dir="$tmp/badkey" --listen-client-urls="http://127.0.0.1:$cport" \
  --advertise-client-urls="http://127.0.0.1:$cport" --listen-peer-urls="http://127.0.0.1:$pport" \
  --initial-advertise-peer-urls="http://127.0.0.1:$pport" --initial-cluster="a=http://127.0.0.1:$pport" \
  --auth-token="jwt,pub-key=$tmp/missing.pub,sign-method=RS256" 2>&1)
grep -q "auth: invalid auth options\|missing key" <<<"$out" || fail "--auth-token with a missing key: $out"

echo "$fails failures"
[ "$fails" -eq 0 ]
