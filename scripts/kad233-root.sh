#!/usr/bin/env bash
# Build the keepalived 2.3.3 oracle: a minimal Debian 13 (trixie) root holding keepalived and
# iproute2, run with chroot inside a netns by tests/helpers/kad233.py (design.md: second oracle).
# Reuses a complete root; builds into a temporary directory beside it and renames it into place,
# so a half-built root is never taken for a complete one. Uses the mirror apt is configured with.
# Usage: scripts/kad233-root.sh [DIR]   (default $PYK_KAD233_ROOT or
#        /var/cache/pykeepalived/trixie-keepalived). Exit 0: root ready; else why on stderr.
set -euo pipefail

DEST=${1:-${PYK_KAD233_ROOT:-/var/cache/pykeepalived/trixie-keepalived}}
MARK=.pykeepalived-complete

if [ -f "$DEST/$MARK" ] && [ -x "$DEST/usr/sbin/keepalived" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "kad233-root: needs root (debootstrap, chroot)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  echo "kad233-root: debootstrap is not installed" >&2
  exit 1
fi

# the Debian archive URI apt already uses (deb822 .sources first, then one-line lists);
# the security archive has no trixie main suite for debootstrap, so it is skipped
mirror_from_apt() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i !~ /^\[/) {print $i; break}}' "$f"
  done
}
MIRROR=${PYK_DEBIAN_MIRROR:-$(mirror_from_apt | grep -E "/debian/?$" | sed -n 1p || true)}
if [ -z "$MIRROR" ]; then
  echo "kad233-root: no Debian archive found in apt's sources (set PYK_DEBIAN_MIRROR)" >&2
  exit 1
fi

parent=$(dirname "$DEST")
mkdir -p "$parent"
# one build at a time on this machine; a run that waited finds the root complete
exec 9>"$parent/.build.lock"
flock 9
if [ -f "$DEST/$MARK" ] && [ -x "$DEST/usr/sbin/keepalived" ]; then
  exit 0
fi
tmp=$(mktemp -d "$parent/.trixie-build.XXXXXX")
chmod 755 "$tmp"  # it becomes "/" in the chroot: script security checks its mode
cleanup() {
  if [ -n "${tmp:-}" ] && [ -d "$tmp" ]; then rm -rf --one-file-system "$tmp"; fi
  return 0
}
trap cleanup EXIT

echo "== building the keepalived 2.3.3 root (debootstrap trixie) in $DEST" >&2
if ! debootstrap --variant=minbase --include=keepalived,iproute2 trixie "$tmp" "$MIRROR" \
    >"$tmp.log" 2>&1; then
  echo "kad233-root: debootstrap failed; last lines of its log:" >&2
  tail -n 15 "$tmp.log" >&2
  rm -f "$tmp.log"
  exit 1
fi
rm -f "$tmp.log"
version=$(chroot "$tmp" /usr/sbin/keepalived --version 2>&1 | sed -n 1p)
case "$version" in
  *"v2.3."*) ;;
  *) echo "kad233-root: unexpected keepalived in the root: $version" >&2; exit 1 ;;
esac
echo "$version" >"$tmp/$MARK"
# the apt caches are not needed to run keepalived -t
rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
if [ -e "$DEST" ]; then
  # another run finished first (or a stale incomplete root): keep a complete one, replace the rest
  if [ -f "$DEST/$MARK" ]; then exit 0; fi
  old=$(mktemp -d "$parent/.trixie-old.XXXXXX")
  mv -T "$DEST" "$old/root"
  rm -rf --one-file-system "$old"
fi
mv -T "$tmp" "$DEST"
tmp=
echo "== keepalived root ready: $version" >&2
