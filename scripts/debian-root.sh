#!/usr/bin/env bash
# Build (once) a minimal Debian root with debootstrap, for the tests that need a real Debian
# release: keepalived 2.3.3's root (scripts/kad233-root.sh), the clean bookworm / trixie roots
# the .deb is installed into and booted under systemd-nspawn (scripts/pkg-roots.sh).
# A complete root is reused; a new one is built in a temporary directory beside DEST and renamed
# into place only once complete, so a half-built root is never taken for a complete one.
# Uses the Debian mirror apt is configured with (or $PYK_DEBIAN_MIRROR).
#
# Usage: scripts/debian-root.sh [-k] [-d PKGS] [-c CHECK] SUITE DEST INCLUDE
#   INCLUDE   comma-separated packages installed on top of --variant=minbase
#   -k        keep apt's package lists in the root (apt-get can resolve there later)
#   -d PKGS   download these packages (comma-separated) into the root's apt cache without
#             installing them, so `apt-get -f install` in the root needs no network
#   -c CHECK  a shell command run with $ROOT set to the new root; it must succeed and its
#             first line of output is kept in the completion mark
# Exit 0: DEST is complete; otherwise the reason is on stderr.
set -euo pipefail

KEEP_LISTS=0
DOWNLOAD=
CHECK=
while getopts "kd:c:" opt; do
  case $opt in
    k) KEEP_LISTS=1 ;;
    d) DOWNLOAD=$OPTARG ;;
    c) CHECK=$OPTARG ;;
    *) echo "usage: debian-root.sh [-k] [-d PKGS] [-c CHECK] SUITE DEST INCLUDE" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -ne 3 ]; then
  echo "usage: debian-root.sh [-k] [-d PKGS] [-c CHECK] SUITE DEST INCLUDE" >&2
  exit 2
fi
SUITE=$1 DEST=$2 INCLUDE=$3
MARK=.pykeepalived-complete
NAME="debian-root($SUITE)"

[ -f "$DEST/$MARK" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "$NAME: needs root (debootstrap, chroot)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  echo "$NAME: debootstrap is not installed (apt-get install debootstrap)" >&2
  exit 1
fi

# the Debian archive URI apt already uses (deb822 .sources first, then one-line lists);
# the security archive has no main suite for debootstrap, so it is skipped
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
MIRROR=${PYK_DEBIAN_MIRROR:-$(mirror_from_apt | grep -E '/debian/?$' | sed -n 1p || true)}
if [ -z "$MIRROR" ]; then
  echo "$NAME: no Debian archive found in apt's sources (set PYK_DEBIAN_MIRROR)" >&2
  exit 1
fi

parent=$(dirname "$DEST")
mkdir -p "$parent"
# one build of DEST at a time on this machine; a run that waited finds the root complete
exec 9>"$parent/.$(basename "$DEST").lock"
flock 9
[ -f "$DEST/$MARK" ] && exit 0
tmp=$(mktemp -d "$parent/.$SUITE-build.XXXXXX")
chmod 755 "$tmp"  # it becomes "/" in the chroot: script security checks its mode
cleanup() {
  if [ -n "${tmp:-}" ] && [ -d "$tmp" ]; then
    umount -R "$tmp/proc" 2>/dev/null || true
    rm -rf --one-file-system "$tmp" "$tmp.log"
  fi
  return 0  # the script's own exit status stands
}
trap cleanup EXIT

echo "== building the $SUITE root (debootstrap minbase + $INCLUDE) in $DEST" >&2
# bounded: a mirror that hangs must end in a skip, not in CI's time limit
if ! timeout 600 debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tmp" "$MIRROR" \
    >"$tmp.log" 2>&1; then
  echo "$NAME: debootstrap failed; last lines of its log:" >&2
  tail -n 15 "$tmp.log" >&2
  exit 1
fi
rm -f "$tmp.log"
# debootstrap's own downloads are installed: drop them (the -d packages come next)
rm -f "$tmp"/var/cache/apt/archives/*.deb
if [ -n "$DOWNLOAD" ]; then
  if ! timeout 600 chroot "$tmp" apt-get install -qq --download-only --no-install-recommends -y \
      ${DOWNLOAD//,/ } >"$tmp.log" 2>&1; then
    echo "$NAME: apt-get --download-only ${DOWNLOAD//,/ } failed:" >&2
    tail -n 15 "$tmp.log" >&2
    exit 1
  fi
  rm -f "$tmp.log"
fi
note=$SUITE
if [ -n "$CHECK" ]; then
  if ! note=$(ROOT=$tmp sh -c "$CHECK" 2>&1); then
    echo "$NAME: the new root fails its check ($CHECK): $note" >&2
    exit 1
  fi
  note=$(printf '%s\n' "$note" | sed -n 1p)
fi
[ "$KEEP_LISTS" = 0 ] && rm -rf "$tmp"/var/lib/apt/lists/*
echo "$note" >"$tmp/$MARK"
if [ -e "$DEST" ]; then
  # another run finished first (or a stale incomplete root): keep a complete one, replace the rest
  [ -f "$DEST/$MARK" ] && exit 0
  old=$(mktemp -d "$parent/.$SUITE-old.XXXXXX")
  mv -T "$DEST" "$old/root"
  rm -rf --one-file-system "$old"
fi
mv -T "$tmp" "$DEST"
tmp=
echo "== $SUITE root ready in $DEST: $note" >&2
