#!/usr/bin/env bash
# Build (once) the clean Debian 12 and 13 roots the .deb tests install into and boot under
# systemd-nspawn (tests/packaging/test_deb.py, test_systemd.py): minbase + systemd, iproute2,
# python3, with apt's lists kept and the package's Debian dependencies downloaded (not
# installed), so `dpkg -i` + `apt-get -f install` in a copy of the root needs no network.
# Usage: scripts/pkg-roots.sh [SUITE...]   (default: bookworm trixie; roots in
#        ${PYK_ROOTS_DIR:-/var/cache/pykeepalived}/<suite>-systemd). Exit 0: all ready.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${PYK_ROOTS_DIR:-/var/cache/pykeepalived}
# keep in step with the Depends: line of packaging/build-deb.sh
DEPS=python3-lark,python3-psutil,procps
# the roots are built side by side (debootstrap mostly waits on the mirror)
pids=()
for suite in ${@:-bookworm trixie}; do
  include=systemd,iproute2,python3
  dest=$DIR/$suite-systemd
  # a root built before a package was added to the lists is built again
  if [ -f "$dest/.pykeepalived-complete" ]; then
    for p in ${include//,/ }; do
      [ -f "$dest/var/lib/dpkg/info/$p.list" ] || rm -f "$dest/.pykeepalived-complete"
    done
    for p in ${DEPS//,/ }; do
      compgen -G "$dest/var/cache/apt/archives/${p}_*.deb" >/dev/null || \
        rm -f "$dest/.pykeepalived-complete"
    done
    [ -f "$dest/.pykeepalived-complete" ] || echo "== $dest is out of date: rebuilding it" >&2
  fi
  bash "$HERE/debian-root.sh" -k -d "$DEPS" \
      -c 'chroot "$ROOT" /usr/lib/systemd/systemd --version | sed -n 1p' \
      "$suite" "$dest" "$include" &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do
  wait "$pid" || rc=1
done
exit $rc
