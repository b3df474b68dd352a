#!/bin/bash
# PID 1 of the IPVS test guest (user-mode-linux; started by tests/ipvsvm/guest.py).
#
# The guest's root is the HOST's / through hostfs, read-only. We build a throw-away overlay
# (hostfs lower, tmpfs upper) so that the command can write anywhere without touching the
# host, mount fresh /proc /sys /dev /run /tmp in it, load the IPVS modules (no kmod on the
# host, so tests/ipvsvm/kmod.py does it with finit_module), run the command chrooted in the
# overlay, record its exit status in the control dir and power off.
#
# Inputs (kernel command line -> environment):
#   IPVSVM_CTL   host path of the per-run control dir (read-write; holds cmd, config, out, rc)
#   IPVSVM_PY    python interpreter for kmod.py (stdlib only)
#   IPVSVM_HOME  this directory (tests/ipvsvm) as a host path
set -u
[ "${IPVSVM_DEBUG:-0}" = 1 ] && { exec 2>/dev/console; set -x; }
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HERE=${IPVSVM_HOME:?IPVSVM_HOME not set}
PY=${IPVSVM_PY:-/usr/bin/python3}
KMOD=("$PY" -I -S "$HERE/kmod.py")
W=/mnt    # an existing dir on the read-only root: our tmpfs work area goes here
R=$W/root

say() { echo "ipvsvm-init: $*" >/dev/console; }
off() { sync; "${KMOD[@]}" --poweroff; say "poweroff failed ($?), trying sysrq"; echo o >/proc/sysrq-trigger; sleep 5; exit 1; }
die() { say "FATAL: $*"; off; }

mount -t proc proc /proc || die "mount /proc"
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev || die "mount /dev"
mount -t tmpfs -o mode=0755 ipvsvm "$W" || die "mount tmpfs on $W"
mkdir -p "$W/lower" "$W/rw/upper" "$W/rw/work" "$R"
"${KMOD[@]}" overlay || die "cannot load overlay.ko"
mount -t hostfs -o ro,/ hostfs "$W/lower" || die "mount hostfs /"
mount -t overlay -o "lowerdir=$W/lower,upperdir=$W/rw/upper,workdir=$W/rw/work" overlay "$R" ||
    die "mount overlay"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t devtmpfs devtmpfs "$R/dev"
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts"
ln -sf pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777 shm "$R/dev/shm"
mount -t tmpfs -o mode=0755 run "$R/run"
mount -t tmpfs -o mode=1777 tmp "$R/tmp"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup" 2>/dev/null
mkdir -p "$R/run/ipvsvm" "$R/var/run"
mount -t hostfs -o "$IPVSVM_CTL" hostfs "$R/run/ipvsvm" || die "mount control dir $IPVSVM_CTL"
CTL=$R/run/ipvsvm
# shellcheck disable=SC1091
. "$CTL/config"   # MODULES=..., RW_DIRS=...
for d in ${RW_DIRS:-}; do
    mkdir -p "$R$d" && mount -t hostfs -o "$d" hostfs "$R$d" || die "mount rw $d"
done
for d in ${RO_DIRS:-}; do   # host paths under the guest's fresh /tmp or /run (a checkout)
    mkdir -p "$R$d" && mount -t hostfs -o "ro,$d" hostfs "$R$d" || die "mount ro $d"
done

# modprobe(8) for the guest: /lib/modules/<release> and a kernel usermode helper. The helper
# path is resolved in the kernel's root (the hostfs /) and in the chroot alike.
KVER=$(uname -r)
mkdir -p "$R/lib/modules"
ln -sfn "/usr/lib/uml/modules/$KVER" "$R/lib/modules/$KVER"
echo "$HERE/modprobe.sh" >/proc/sys/kernel/modprobe
if [ -n "${MODULES:-}" ]; then
    # shellcheck disable=SC2086
    "${KMOD[@]}" $MODULES >>"$CTL/out" 2>&1 || say "some modules failed: $MODULES"
fi
hostname ipvsvm
chroot "$R" ip link set lo up

: >"$CTL/started"
chroot "$R" /bin/bash /run/ipvsvm/cmd </dev/null >>"$CTL/out" 2>&1
echo $? >"$CTL/rc.tmp" && mv "$CTL/rc.tmp" "$CTL/rc"
off
