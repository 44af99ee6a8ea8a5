#!/usr/bin/env bash
# Installs the Debian packages the build needs, if any is missing. Idempotent and silent when all are present;
# runs `apt-get update` only when something must actually be installed (a fresh machine has empty package lists).
set -euo pipefail
packages=(
  bazel-bootstrap bazel-rules-java bazel-platforms
  g++ pkgconf python3
  libabsl-dev libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev libssl-dev libnghttp2-dev libsystemd-dev
  libyaml-cpp-dev libcrypt-dev libgoogle-perftools-dev
  etcd-client etcd-server curl python3-etcd3 python3-jwt openssl
  chromium
  "$@"
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing missing packages: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/detcd-apt.log 2>&1; then
  "${sudo_cmd[@]}" apt-get update -q >>/tmp/detcd-apt.log 2>&1
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/detcd-apt.log 2>&1 || {
    cat /tmp/detcd-apt.log >&2
    exit 1
  }
fi
