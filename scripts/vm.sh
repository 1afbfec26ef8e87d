#!/usr/bin/env bash
# Run a command inside a throwaway qemu VM whose kernel has the Open vSwitch
# module loaded.
#
# The machines we develop and test on run kernels without openvswitch and
# cannot load modules, so the kernel tests boot a stock Debian kernel under
# qemu instead. The guest sees the host's whole file system read-only over
# virtio-9p and chroots into it, so the host's node, node_modules and iproute2
# run inside unchanged and the working directory is the same path as outside.
#
#   scripts/vm.sh [--kernel 6.1|6.12] [--mem MB] [--timeout SECONDS] [--] CMD [ARGS...]
#   scripts/vm.sh [--kernel 6.1|6.12] --prepare
#
# The exit status is CMD's, or 125 when the VM itself failed (no status
# reported: boot failure, kernel panic, timeout); 130 when interrupted.
#
# Environment:
#   OVSNL_VM_CACHE   cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/ovsnl-vm)
#   OVSNL_VM_KVM=1   use KVM instead of software emulation (hangs at boot on
#                    some machines, hence opt-in)
#   OVSNL_VM_DEBUG=1 show kernel messages and trace the guest's init
#   OVSNL_VM_TCG     TCG threading, single (default, see run_vm) or multi
#   OVSNL_VM_MIRROR  Debian mirror for kernels of other releases than the
#                    host's (default: the one the host's apt sources use)
set -euo pipefail

SCRIPT_PATH=$(realpath "${BASH_SOURCE[0]}")
readonly SCRIPT_PATH
readonly VM_FAILURE=125

# Modules the guest loads, in this order (each after its dependencies, which
# are resolved from the modules' own depends= field). crc32c_generic is only a
# soft dependency of libcrc32c (which openvswitch needs), so it is named here.
readonly GUEST_MODULES=(
  virtio_pci 9pnet_virtio 9p
  crc32c_generic openvswitch vport_vxlan vport_geneve vport_gre
  veth tun 8021q nf_conntrack_netlink nfnetlink_cttimeout nf_conntrack_ftp nf_conntrack_tftp bridge
)

# Host packages this script needs (command -> Debian package).
readonly -A PREREQS=(
  [qemu-system-x86_64]=qemu-system-x86
  [cpio]=cpio
  [xz]=xz-utils
  [ip]=iproute2
  [flock]=util-linux
)

log() { printf '[vm] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit "$VM_FAILURE"
}
have() { command -v "$1" >/dev/null 2>&1; }

usage() {
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$SCRIPT_PATH"
}

as_root() {
  if ((EUID == 0)); then
    "$@"
  elif have sudo; then
    sudo "$@"
  else
    die "need root to run: $*"
  fi
}

# ---------------------------------------------------------------------------
# Host prerequisites
# ---------------------------------------------------------------------------

apt_get_root() {
  # Wait for a concurrently running apt/dpkg instead of failing on its lock.
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get -q -o DPkg::Lock::Timeout=900 "$@"
}

ensure_prereqs() {
  local missing=() cmd
  for cmd in "${!PREREQS[@]}"; do
    have "$cmd" || missing+=("${PREREQS[$cmd]}")
  done
  # The initramfs needs a statically linked busybox; Debian's plain "busybox"
  # package is dynamically linked.
  if ! dpkg-query -W -f='${Status}\n' busybox-static 2>/dev/null | grep -q 'ok installed'; then
    missing+=(busybox-static)
  fi
  ((${#missing[@]} == 0)) && return 0

  log "installing prerequisites: ${missing[*]}"
  # Fresh containers ship without package lists: fetch them first then.
  if ! apt-cache show --no-all-versions "${missing[@]}" >/dev/null 2>&1; then
    apt_get_root update
  fi
  if ! apt_get_root install -y --no-install-recommends "${missing[@]}"; then
    # Stale lists (404 on download): refresh once and retry.
    apt_get_root update
    apt_get_root install -y --no-install-recommends "${missing[@]}"
  fi
}

# ---------------------------------------------------------------------------
# Kernel: resolve, download, cache
# ---------------------------------------------------------------------------

# Debian release whose linux-image-amd64 provides the requested kernel series.
kernel_suite() {
  case $1 in
    6.1) echo bookworm ;;
    6.12) echo trixie ;;
    *) die "unknown kernel '$1' (supported: 6.1, 6.12)" ;;
  esac
}

host_codename() {
  # shellcheck disable=SC1091
  (. /etc/os-release && echo "${VERSION_CODENAME:-}")
}

# The Debian mirror the host's apt sources use (first .../debian URI), so that
# kernels of other releases come from the same place as everything else.
debian_mirror() {
  if [[ -n ${OVSNL_VM_MIRROR:-} ]]; then
    echo "${OVSNL_VM_MIRROR%/}"
    return
  fi
  local uri
  uri=$(
    {
      # one-line style: deb [options] URI suite components
      cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]\+\).*/\2/p'
      # deb822 style: URIs: a b c
      cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
    } | grep -E '^https?://[^[:space:]]+/debian/?$' | head -n1
  ) || true
  [[ -n $uri ]] || die "cannot find a Debian mirror in the apt sources; set OVSNL_VM_MIRROR"
  echo "${uri%/}"
}

# apt options that use a private sources list and state directory for $1 (a
# release other than the host's), leaving the system's apt configuration alone.
# Sets the global array APT_OPTS.
private_apt_setup() {
  local suite=$1 dir="$CACHE_ROOT/apt-$1"
  mkdir -p "$dir/lists/partial" "$dir/sources.list.d"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
    "$(debian_mirror)" "$suite" >"$dir/sources.list"
  APT_OPTS=(
    -o "Dir::Etc::sourcelist=$dir/sources.list"
    -o "Dir::Etc::sourceparts=$dir/sources.list.d"
    -o "Dir::State::Lists=$dir/lists"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    # Our cache directory is usually not reachable by apt's unprivileged
    # download user; without this apt warns on every download.
    -o "APT::Sandbox::User=$(id -un)"
  )
}

apt_update() {
  if ((${#APT_OPTS[@]})); then
    log "fetching the $SUITE package lists (private, under $CACHE_ROOT/apt-$SUITE)"
    apt-get -qq "${APT_OPTS[@]}" update
  else
    apt_get_root -qq update
  fi
}

# Name of the kernel package linux-image-amd64 currently depends on (the
# generic flavour: -cloud- lacks 9p).
resolve_kernel_package() {
  apt-cache "${APT_OPTS[@]}" depends linux-image-amd64 2>/dev/null |
    sed -n 's/^[[:space:]]*|\{0,1\}Depends:[[:space:]]*\(linux-image-[0-9][^[:space:]]*\).*/\1/p' |
    grep -v -e -cloud- -e -rt- | head -n1
}

# Resolves the kernel for series $KERNEL_SERIES, downloads and unpacks it into
# the cache if needed. Sets KERNEL_VERSION and KERNEL_DIR.
ensure_kernel() {
  SUITE=$(kernel_suite "$KERNEL_SERIES")
  APT_OPTS=()
  if [[ $SUITE != "$(host_codename)" ]]; then
    private_apt_setup "$SUITE"
    if ! compgen -G "$CACHE_ROOT/apt-$SUITE/lists/*_Packages*" >/dev/null; then
      apt_update || true
    fi
  fi

  local pkg last="$CACHE_ROOT/last-$KERNEL_SERIES"
  pkg=$(resolve_kernel_package) || true
  if [[ -z $pkg ]]; then
    apt_update || true
    pkg=$(resolve_kernel_package) || true
  fi
  if [[ -z $pkg ]]; then
    # Offline or no package lists: fall back to what we built last time.
    if [[ -s $last && -f $CACHE_ROOT/$(<"$last")/vmlinuz ]]; then
      KERNEL_VERSION=$(<"$last")
      log "warning: cannot resolve linux-image-amd64 of $SUITE; using cached $KERNEL_VERSION"
    else
      die "cannot resolve linux-image-amd64 of $SUITE"
    fi
  else
    KERNEL_VERSION=${pkg#linux-image-}
    KERNEL_VERSION=${KERNEL_VERSION%-unsigned}
  fi
  KERNEL_DIR=$CACHE_ROOT/$KERNEL_VERSION

  if [[ ! -f $KERNEL_DIR/vmlinuz || ! -f $KERNEL_DIR/linux-image.deb ]]; then
    download_kernel "$pkg"
  fi
  echo "$KERNEL_VERSION" >"$last"
}

download_kernel() {
  local pkg=$1 tmp
  log "downloading $pkg ($SUITE)"
  mkdir -p "$KERNEL_DIR"
  tmp=$(mktemp -d "$KERNEL_DIR/download.XXXXXX")
  # As root, apt downloads as the _apt user, which cannot write into a cache
  # under $HOME; download as ourselves instead (the .deb is still verified).
  local dl=(apt-get -qq "${APT_OPTS[@]}" -o "APT::Sandbox::User=$(id -un)" download "$pkg")
  if ! (cd "$tmp" && "${dl[@]}"); then
    # The package lists may name a version the mirror no longer has.
    apt_update
    (cd "$tmp" && "${dl[@]}")
  fi
  local deb
  deb=$(compgen -G "$tmp/*.deb" | head -n1) || die "apt-get download $pkg produced no .deb"
  mv "$deb" "$KERNEL_DIR/linux-image.deb"
  rm -rf "$tmp"
  # Only the kernel image is kept unpacked; modules are extracted from the .deb
  # whenever the initramfs is (re)built.
  dpkg-deb --fsys-tarfile "$KERNEL_DIR/linux-image.deb" |
    tar -xO --wildcards "./boot/vmlinuz-*" >"$KERNEL_DIR/vmlinuz.tmp"
  [[ -s $KERNEL_DIR/vmlinuz.tmp ]] || die "no kernel image in $pkg"
  mv "$KERNEL_DIR/vmlinuz.tmp" "$KERNEL_DIR/vmlinuz"
}

# ---------------------------------------------------------------------------
# initramfs
# ---------------------------------------------------------------------------

# PID 1 of the guest (busybox sh). Loads the modules, mounts the host's root
# and the output share, runs /run/ovsnl-vm/cmd.sh chrooted into the host's root
# and records its exit status in the output share, then powers off.
write_init() {
  cat <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# Plain \n on the host's side (the serial line would turn it into \r\n).
stty -onlcr 2>/dev/null
grep -q ovsnl_debug /proc/cmdline && set -x

say() { echo "[vm] $*"; }
halt_vm() {
  sync
  # Not even the kernel's "reboot: Power down" on the console.
  echo 0 >/proc/sys/kernel/printk
  poweroff -f
  echo o >/proc/sysrq-trigger
  sleep 10
}
fail() {
  say "guest error: $*"
  halt_vm
}

for m in $(cat /modules.list); do
  insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done

R=/newroot
OUT=$R/run/ovsnl-vm
# 9p: a large msize means fewer round trips; cache=loose lets the guest cache
# lookups and data of the (read-only, unchanging) host root, which makes
# loading node_modules take seconds instead of minutes.
p9=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$p9,cache=loose,ro" root $R || fail "cannot mount the host's root"
# Keep the host's /tmp and /run reachable before fresh tmpfs hide them: a
# checkout (a CI clone, say) may live there, and is bound back in below.
mkdir -p /host/tmp /host/run
mount -o bind $R/tmp /host/tmp
mount -o bind $R/run /host/run
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t tmpfs -o mode=0755 tmpfs $R/run
mkdir -p $OUT
mount -t 9p -o "$p9" out $OUT || fail "cannot mount the output share"
if [ -s $OUT/keep ]; then
  keep=$(cat $OUT/keep)
  mkdir -p "$R$keep"
  mount -o bind "/host$keep" "$R$keep" || fail "cannot bind $keep into the guest"
fi
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
[ -c $R/dev/net/tun ] || fail "/dev/net/tun missing"
ip link set lo up
hostname ovsnl-vm

env -i chroot $R /bin/bash /run/ovsnl-vm/cmd.sh </dev/null
echo $? >$OUT/status
halt_vm
EOF
}

# Index of the kernel's module files: sets MODFILE[name]=path (names with
# "-" normalised to "_", as in depends=) and BUILTIN[name]=1.
index_modules() {
  local moddir=$1 f name
  MODFILE=()
  BUILTIN=()
  while IFS= read -r -d '' f; do
    name=${f##*/}
    name=${name%%.ko*}
    MODFILE[${name//-/_}]=$f
  done < <(find "$moddir/kernel" -type f -name '*.ko*' -print0)
  if [[ -f $moddir/modules.builtin ]]; then
    while IFS= read -r f; do
      name=${f##*/}
      name=${name%.ko}
      BUILTIN[${name//-/_}]=1
    done <"$moddir/modules.builtin"
  fi
}

# Copies module $1 (decompressed, as busybox insmod wants) into $2 and
# appends it, after its dependencies, to LOAD_ORDER.
add_module() {
  local name=${1//-/_} dest=$2 src dep deps
  [[ -n ${SEEN[$name]:-} ]] && return 0
  SEEN[$name]=1
  src=${MODFILE[$name]:-}
  if [[ -z $src ]]; then
    [[ -n ${BUILTIN[$name]:-} ]] && return 0
    die "kernel $KERNEL_VERSION has no module $name"
  fi
  case $src in
    *.ko) cp "$src" "$dest/$name.ko" ;;
    *.ko.xz) xz -dc "$src" >"$dest/$name.ko" ;;
    *.ko.gz) gzip -dc "$src" >"$dest/$name.ko" ;;
    *.ko.zst) zstd -qdc "$src" >"$dest/$name.ko" ;;
    *) die "unexpected module file $src" ;;
  esac
  # .modinfo holds NUL-separated key=value strings; depends= is a comma list.
  deps=$(tr '\0' '\n' <"$dest/$name.ko" | sed -n 's/^depends=//p' | head -n1)
  for dep in ${deps//,/ }; do
    add_module "$dep" "$dest"
  done
  LOAD_ORDER+=("$name")
}

build_initramfs() {
  local out=$1 tmp moddir
  log "building initramfs for $KERNEL_VERSION"
  tmp=$(mktemp -d "$KERNEL_DIR/build.XXXXXX")
  mkdir -p "$tmp/deb" "$tmp/root"/{bin,dev,proc,sys,newroot,lib/modules}
  dpkg-deb -x "$KERNEL_DIR/linux-image.deb" "$tmp/deb"
  moddir=$(find "$tmp/deb" -maxdepth 4 -type d -path "*/lib/modules/$KERNEL_VERSION" | head -n1)
  [[ -n $moddir ]] || die "no lib/modules/$KERNEL_VERSION in the kernel package"

  declare -gA MODFILE BUILTIN SEEN=()
  LOAD_ORDER=()
  index_modules "$moddir"
  local m
  for m in "${GUEST_MODULES[@]}"; do
    add_module "$m" "$tmp/root/lib/modules"
  done
  printf '%s\n' "${LOAD_ORDER[@]}" >"$tmp/root/modules.list"

  cp /bin/busybox "$tmp/root/bin/busybox"
  write_init >"$tmp/root/init"
  chmod 0755 "$tmp/root/init"
  (cd "$tmp/root" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) |
    gzip -1 >"$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
}

# Makes sure kernel and initramfs are cached; sets KERNEL_DIR, INITRAMFS.
prepare() {
  mkdir -p "$CACHE_ROOT"
  # Serialise concurrent runs (CI matrix, parallel developers' shells).
  exec 9>"$CACHE_ROOT/.lock"
  flock 9
  ensure_prereqs
  ensure_kernel
  # The initramfs is keyed by this script's contents: editing the init
  # template or the module list rebuilds it.
  local key
  key=$(sha256sum "$SCRIPT_PATH" | cut -c1-16)
  INITRAMFS=$KERNEL_DIR/initramfs-$key.cpio.gz
  if [[ ! -f $INITRAMFS ]]; then
    rm -f "$KERNEL_DIR"/initramfs-*.cpio.gz
    build_initramfs "$INITRAMFS"
  fi
  exec 9>&-
}

# ---------------------------------------------------------------------------
# Running the VM
# ---------------------------------------------------------------------------

# The guest's command script: environment, working directory, command.
write_command_script() {
  local name
  echo '# written by scripts/vm.sh'
  for name in $(compgen -e); do
    case $name in
      PATH | CI | TERM | NODE_OPTIONS | OVSNL_*)
        printf 'export %s=%q\n' "$name" "${!name}"
        ;;
    esac
  done
  echo 'export HOME=/tmp/home'
  echo 'mkdir -p /tmp/home'
  printf 'cd -- %q || { echo "[vm] cannot enter %q in the guest" >&2; exit %d; }\n' \
    "$PWD" "$PWD" "$VM_FAILURE"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
}

run_vm() {
  local out
  out=$(mktemp -d "${TMPDIR:-/tmp}/ovsnl-vm.XXXXXX")
  # shellcheck disable=SC2064 # expand $out now
  trap "rm -rf '$out'" EXIT
  write_command_script "$@" >"$out/cmd.sh"
  # The guest has fresh tmpfs on /tmp and /run; a working directory there is
  # bound back in (read-only, like the rest of the host) so it stays visible.
  case $PWD in
    /tmp/* | /run/*) printf '%s\n' "$PWD" >"$out/keep" ;;
  esac

  # One TCG thread for all vCPUs: under multi-threaded TCG a vCPU can run a
  # stale translation of kernel text that another vCPU is live-patching
  # (static keys, text_poke_bp), which the 6.12 guest reported as
  # "Oops: int3" in __skb_get_hash_net and panicked. OVSNL_VM_TCG=multi
  # brings the faster, racy mode back for experiments.
  local accel=(-accel "tcg,thread=${OVSNL_VM_TCG:-single}" -cpu max)
  [[ ${OVSNL_VM_KVM:-} == 1 ]] && accel=(-accel kvm -cpu host)
  local append="console=ttyS0 panic=-1 mitigations=off"
  if [[ ${OVSNL_VM_DEBUG:-} == 1 ]]; then
    append+=" loglevel=7 ovsnl_debug"
  else
    append+=" quiet loglevel=1"
  fi

  log "booting $KERNEL_VERSION (${accel[1]%%,*}, ${MEM_MB} MB, timeout ${TIMEOUT}s)"
  # -no-reboot + panic=-1: a guest panic ends qemu instead of rebooting.
  # stdin is /dev/null: the guest is not interactive and qemu must not put
  # the caller's terminal into raw mode.
  timeout --kill-after=10 "$TIMEOUT" \
    qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
    "${accel[@]}" -smp 2 -m "$MEM_MB" \
    -kernel "$KERNEL_DIR/vmlinuz" -initrd "$INITRAMFS" -append "$append" \
    -serial stdio \
    -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$out,mount_tag=out,security_model=none" \
    </dev/null &
  local vm_pid=$! interrupted=0 rc=0
  # `timeout` runs qemu in its own process group, so Ctrl-C does not reach
  # it: forward INT/TERM explicitly so the VM never outlives this script.
  trap 'interrupted=1; kill -TERM "$vm_pid" 2>/dev/null || true' INT TERM HUP
  while :; do
    wait "$vm_pid" && rc=0 || rc=$?
    kill -0 "$vm_pid" 2>/dev/null || break
  done
  trap - INT TERM HUP

  if ((interrupted)); then
    log "interrupted; VM stopped"
    exit 130
  fi
  if [[ -s $out/status ]]; then
    return "$(<"$out/status")"
  fi
  case $rc in
    124 | 137) log "error: timed out after ${TIMEOUT}s; VM killed" ;;
    0) log "error: the VM stopped without reporting the command's exit status (kernel panic or guest init failure, see above)" ;;
    *) log "error: qemu failed (exit status $rc)" ;;
  esac
  return "$VM_FAILURE"
}

main() {
  KERNEL_SERIES=6.1 MEM_MB=2048 TIMEOUT=1800
  local prepare_only=0
  while (($#)); do
    case $1 in
      --kernel) KERNEL_SERIES=${2:?--kernel needs a value}; shift 2 ;;
      --kernel=*) KERNEL_SERIES=${1#*=}; shift ;;
      --mem) MEM_MB=${2:?--mem needs a value}; shift 2 ;;
      --mem=*) MEM_MB=${1#*=}; shift ;;
      --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
      --timeout=*) TIMEOUT=${1#*=}; shift ;;
      --prepare) prepare_only=1; shift ;;
      -h | --help) usage; exit 0 ;;
      --) shift; break ;;
      -*) die "unknown option $1 (see --help)" ;;
      *) break ;;
    esac
  done
  kernel_suite "$KERNEL_SERIES" >/dev/null
  [[ $MEM_MB =~ ^[0-9]+$ ]] || die "--mem wants megabytes"
  [[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout wants seconds"
  if ((!prepare_only && $# == 0)); then
    usage >&2
    exit 2
  fi

  CACHE_ROOT=${OVSNL_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ovsnl-vm}
  prepare
  if ((prepare_only)); then
    log "ready: $KERNEL_DIR/vmlinuz, $INITRAMFS"
    return 0
  fi
  run_vm "$@"
}

main "$@"
