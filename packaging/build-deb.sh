#!/bin/sh
# Build pykeepalived_<version>-1_<arch>.deb with plain dpkg-deb (no debhelper needed).
#
# Usage: packaging/build-deb.sh OUTDIR
#   env PYTHON=/usr/bin/python3.11  the Debian interpreter the package will run on
#       PIP_ARGS="..."              extra pip arguments (e.g. --index-url for a mirror)
#
# Layout and why:
#   /opt/pykeepalived/           a self-contained venv on Debian's own python3.11, holding
#                                pykeepalived and its pinned PyPI dependencies (lark, pyroute2,
#                                psutil, scapy). bookworm's python3-pyroute2 is 0.7.x and we pin
#                                ~=0.9.7, so Debian's python3-* packages cannot be used; a
#                                private venv also never touches /usr/lib/python3/dist-packages.
#                                psutil is compiled, hence an architecture-specific package.
#   /usr/bin/pykeepalived        symlink to the venv's console script
#   /lib/systemd/system/         pykeepalived.service, pykeepalived-hardened.service
#   /etc/default/pykeepalived    conffile (DAEMON_ARGS)
#   /usr/share/man/man8/pykeepalived.8.gz
#   /usr/share/doc/pykeepalived/ copyright, examples/ (conf.d)
# Byte code is compiled in postinst (not shipped: .pyc files would carry build paths) and
# removed in prerm. The unit is not enabled on install: it conflicts with keepalived.service
# and an operator switches over deliberately.
set -eu

OUT=${1:?usage: build-deb.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3.11}
PIP_ARGS=${PIP_ARGS:-}
PREFIX=/opt/pykeepalived

[ -x "$PYTHON" ] || { echo "build-deb.sh: $PYTHON not found (apt-get install python3.11)" >&2; exit 1; }
"$PYTHON" -c 'import ensurepip' 2>/dev/null || {
    echo "build-deb.sh: $PYTHON has no venv/ensurepip (apt-get install python3-venv)" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: needs dpkg-deb" >&2; exit 1; }

VERSION=$("$PYTHON" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$SRC/pyproject.toml")
ARCH=$(dpkg --print-architecture)
PYVER=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
DEBVER="$VERSION-1"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/pykeepalived-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM
STAGE=$WORK/root
VENV=$STAGE$PREFIX

# 1. a clean copy of the source: no venv, no stale build/ or egg-info leaking into the wheel
mkdir -p "$WORK/src"
tar -C "$SRC" --exclude=./.venv --exclude=./.git --exclude=./build --exclude='*.egg-info' \
    --exclude='__pycache__' --exclude=./tests --exclude=./bench --exclude=./packaging/out \
    -cf - . | tar -C "$WORK/src" -xf -

# 2. the venv, built in the staging tree, then made location-independent
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps $PIP_ARGS \
    -w "$WORK/wheels" "$WORK/src"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-compile $PIP_ARGS \
    "$WORK"/wheels/pykeepalived-*.whl
"$VENV/bin/python" -m pip uninstall -q -y wheel setuptools pip >/dev/null 2>&1 || true
rm -f "$VENV"/bin/activate* "$VENV"/bin/Activate.ps1 "$VENV"/bin/pip*
# console scripts name the staging path in their #! line
for f in "$VENV"/bin/*; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    sed -i "1s|^#!$VENV/bin/|#!$PREFIX/bin/|" "$f"
done
sed -i "s|$VENV|$PREFIX|g" "$VENV/pyvenv.cfg"
find "$VENV" -name __pycache__ -type d -prune -exec rm -rf {} +
# PEP 610 record of the wheel's build-time location: meaningless once installed
rm -f "$VENV"/lib/python*/site-packages/pykeepalived-*.dist-info/direct_url.json
sed -i '/direct_url.json/d' "$VENV"/lib/python*/site-packages/pykeepalived-*.dist-info/RECORD
if grep -rIl "$WORK" "$VENV" >/dev/null 2>&1; then
    echo "build-deb.sh: build path left in:" >&2; grep -rIl "$WORK" "$VENV" >&2; exit 1
fi

# 3. system integration
install -d "$STAGE/usr/bin" "$STAGE/lib/systemd/system" "$STAGE/etc/default" \
    "$STAGE/etc/keepalived" "$STAGE/usr/share/man/man8" \
    "$STAGE/usr/share/doc/pykeepalived/examples" "$STAGE/DEBIAN"
ln -s "$PREFIX/bin/pykeepalived" "$STAGE/usr/bin/pykeepalived"
install -m 0644 "$HERE/pykeepalived.service" "$HERE/pykeepalived-hardened.service" \
    "$STAGE/lib/systemd/system/"
install -m 0644 "$HERE/default/pykeepalived" "$STAGE/etc/default/pykeepalived"
gzip -9n -c "$HERE/pykeepalived.8" > "$STAGE/usr/share/man/man8/pykeepalived.8.gz"
chmod 0644 "$STAGE/usr/share/man/man8/pykeepalived.8.gz"
for f in "$SRC"/conf.d/*; do
    case "$f" in
        *.sh) install -m 0755 "$f" "$STAGE/usr/share/doc/pykeepalived/examples/" ;;
        *) if [ -d "$f" ]; then  # a set-up of several files (conf.d/ecmp)
               install -d -m 0755 "$STAGE/usr/share/doc/pykeepalived/examples/${f##*/}"
               install -m 0644 "$f"/* "$STAGE/usr/share/doc/pykeepalived/examples/${f##*/}/"
           else
               install -m 0644 "$f" "$STAGE/usr/share/doc/pykeepalived/examples/"
           fi ;;
    esac
done
cat > "$STAGE/usr/share/doc/pykeepalived/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pykeepalived

Files: *
Copyright: pykeepalived developers
License: GPL-2+
 On Debian systems the full text of the GNU General Public License version 2 is in
 /usr/share/common-licenses/GPL-2.

Files: opt/pykeepalived/lib/*
Comment: third-party Python packages bundled in the private venv; each carries its own
 licence file in its *.dist-info directory (lark: MIT; pyroute2: GPL-2+ or Apache-2.0;
 psutil: BSD-3-Clause; scapy: GPL-2).
EOF

# 4. maintainer scripts
cat > "$STAGE/DEBIAN/conffiles" <<EOF
/etc/default/pykeepalived
EOF
cat > "$STAGE/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
    $PREFIX/bin/python3 -m compileall -q -j0 $PREFIX/lib >/dev/null 2>&1 || true
    # the config parser's Lark cache, beside the bytecode (pykeepalived/config/grammar_cache.py)
    # (written even under PYTHONDONTWRITEBYTECODE, like the compileall above)
    $PREFIX/bin/python3 -c 'import sys; sys.dont_write_bytecode = False
from pykeepalived.config.parser import _lark; _lark()' >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null 2>&1 || true
        # an upgrade restarts a running daemon; a fresh install does not enable anything
        if systemctl is-active --quiet pykeepalived.service; then
            systemctl try-restart pykeepalived.service || true
        fi
        if systemctl is-active --quiet pykeepalived-hardened.service; then
            systemctl try-restart pykeepalived-hardened.service || true
        fi
    fi
fi
exit 0
EOF
cat > "$STAGE/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
if [ "\$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop pykeepalived.service pykeepalived-hardened.service >/dev/null 2>&1 || true
fi
find $PREFIX -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
exit 0
EOF
cat > "$STAGE/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
if [ "\$1" = purge ]; then
    rm -rf /run/pykeepalived
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
EOF
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/prerm" "$STAGE/DEBIAN/postrm"

SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<EOF
Package: pykeepalived
Version: $DEBVER
Architecture: $ARCH
Maintainer: pykeepalived developers <pykeepalived@example.org>
Installed-Size: $SIZE
Depends: python3 (>= 3.11), python$PYVER, iproute2
Suggests: ipvsadm
Section: net
Priority: optional
Homepage: https://example.org/pykeepalived
Description: keepalived-compatible high-availability agent in Python
 pykeepalived reads keepalived's configuration and flags and does the same job:
 VRRP fail-over of virtual addresses, health checks of real servers and an IPVS
 table kept in line with their health. It adds a config checker that names file
 and line, JSON output, a status command and a fail-over lab.
 .
 The package carries its own Python environment under $PREFIX.
EOF

DEB="$OUT/pykeepalived_${DEBVER}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
