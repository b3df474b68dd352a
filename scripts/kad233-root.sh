#!/usr/bin/env bash
# Build the keepalived 2.3.3 oracle: a minimal Debian 13 (trixie) root holding keepalived and
# iproute2, run with chroot inside a netns by tests/helpers/kad233.py (design.md: second oracle).
# The build itself (reuse, temporary directory renamed into place, apt's mirror) is
# scripts/debian-root.sh, shared with the .deb tests' roots (scripts/pkg-roots.sh).
# Usage: scripts/kad233-root.sh [DIR]   (default $PYK_KAD233_ROOT or
#        /var/cache/pykeepalived/trixie-keepalived). Exit 0: root ready; else why on stderr.
set -euo pipefail

DEST=${1:-${PYK_KAD233_ROOT:-/var/cache/pykeepalived/trixie-keepalived}}
if [ -f "$DEST/.pykeepalived-complete" ] && [ -x "$DEST/usr/sbin/keepalived" ]; then
  exit 0
fi
# the check fails the build unless the root's keepalived is a 2.3 release
exec bash "$(dirname "$0")/debian-root.sh" \
  -c 'v=$(chroot "$ROOT" /usr/sbin/keepalived --version 2>&1 | sed -n 1p)
      case "$v" in *"v2.3."*) echo "$v" ;; *) echo "unexpected keepalived: $v"; exit 1 ;; esac' \
  trixie "$DEST" keepalived,iproute2
