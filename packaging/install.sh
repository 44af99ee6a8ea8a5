#!/usr/bin/env bash
# Installs detcd under DESTDIR/PREFIX: the binaries (bin/), the systemd unit (lib/systemd/system/detcd.service,
# ExecStart pointing at PREFIX/bin/detcd), the settings sample (share/doc/detcd/detcd.default, and
# DESTDIR/etc/default/detcd unless one is there: an operator's settings are never overwritten) and the man page
# (share/man/man1/detcd.1, made from `detcd --help`). `make install` calls it with the optimized binaries.
#   packaging/install.sh PREFIX DESTDIR DETCD [OTHER_BINARIES...]
set -euo pipefail
prefix="$1"
destdir="$2"
detcd="$3"
shift 3
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$destdir$prefix"
install -d "$root/bin" "$root/lib/systemd/system" "$root/share/doc/detcd" "$root/share/man/man1" "$destdir/etc/default"
install -m 0755 "$detcd" "$root/bin/detcd"
for b in "$@"; do install -m 0755 "$b" "$root/bin/$(basename "$b")"; done
sed "s|@PREFIX@|$prefix|g" "$here/packaging/detcd.service" >"$root/lib/systemd/system/detcd.service"
chmod 0644 "$root/lib/systemd/system/detcd.service"
install -m 0644 "$here/packaging/detcd.default" "$root/share/doc/detcd/detcd.default"
[ -e "$destdir/etc/default/detcd" ] || install -m 0644 "$here/packaging/detcd.default" "$destdir/etc/default/detcd"
version=$("$detcd" --version | sed -n 's/^etcd Version: //p')
{
  echo ".TH DETCD 1 \"\" \"detcd\" \"User Commands\""
  echo ".SH NAME"
  echo "detcd \\- an etcd v3 compatible key-value store, with etcd $version's flags"
  echo ".SH SYNOPSIS"
  echo ".B detcd"
  echo "[\\fIflags\\fR]"
  echo ".SH DESCRIPTION"
  echo "detcd serves etcd's v3 API (gRPC and the JSON gateway) from a Raft cluster of members. It takes etcd's"
  echo "command line: every flag below can also be given as an ETCD_* environment variable."
  echo ".SH OPTIONS"
  echo ".nf"
  "$detcd" --help 2>/dev/null | sed 's/\\/\\\\/g; s/^\./\\\&./'
  echo ".fi"
  echo ".SH FILES"
  echo "/etc/default/detcd \\- settings read by the systemd unit"
} >"$root/share/man/man1/detcd.1"
chmod 0644 "$root/share/man/man1/detcd.1"
echo "installed detcd in $root"
