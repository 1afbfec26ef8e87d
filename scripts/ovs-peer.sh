#!/usr/bin/env bash
# Prints the directory holding Debian's real ovs-dpctl and ovs-vswitchd, the
# peers that interop tests and benchmarks compare ovsnl with.
#
# The binaries are unpacked from the openvswitch-switch package into a cache
# rather than installed: installing it would start ovs-vswitchd on a host that
# has no policy-rc.d, and ovs-vswitchd deletes datapaths it does not own.
# Their shared libraries come from openvswitch-common, which starts nothing.
#
#   scripts/ovs-peer.sh            -> /root/.cache/ovsnl-vm/ovs-peer/3.1.0-2+deb12u1/usr/bin
set -euo pipefail

cache=${OVSNL_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ovsnl-vm}/ovs-peer
log() { printf '[ovs-peer] %s\n' "$*" >&2; }

apt_install() {
  if ! apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

if ! dpkg -s openvswitch-common >/dev/null 2>&1; then
  log "installing openvswitch-common (libraries of ovs-dpctl)"
  DEBIAN_FRONTEND=noninteractive apt_install openvswitch-common
fi
version=$(dpkg-query -W -f='${Version}' openvswitch-common)
dir=$cache/$version
if [[ ! -x $dir/usr/bin/ovs-dpctl ]]; then
  log "unpacking openvswitch-switch $version"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.dl.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # apt's download user cannot write into root-only directories.
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -qq "openvswitch-switch=$version" >/dev/null 2>&1) ||
    (apt-get update -qq >/dev/null && cd "$tmp" && apt-get download -qq "openvswitch-switch=$version" >/dev/null)
  dpkg -x "$tmp"/openvswitch-switch_*.deb "$tmp/root"
  rm -rf "$dir"
  mv "$tmp/root" "$dir"
fi
"$dir/usr/bin/ovs-dpctl" --version >/dev/null
printf '%s\n' "$dir/usr/bin"
