#!/bin/sh
# Build pykeepalived_<version>-1_all.deb with plain dpkg-deb (no debhelper needed).
#
# Usage: packaging/build-deb.sh OUTDIR
#   env PYTHON=/usr/bin/python3   the interpreter that runs pip for the build (any >= 3.11)
#       PIP_ARGS="..."            extra pip arguments (e.g. --index-url for a mirror)
#
# Layout and why (lintian-clean on bookworm and trixie; installs on Debian 12 and 13):
#   Dependencies come from Debian where its versions work on both releases: python3-lark
#   (1.1.5 / 1.2.x) and python3-psutil (5.9.4 / 7.0). pyroute2 does not: bookworm has 0.7.2
#   and trixie 0.7.7, and pykeepalived needs 0.9's AsyncIPRoute (pyproject pins ~=0.9.7), so
#   pyroute2 is bundled. It is pure Python, hence Architecture: all. scapy is not shipped: the
#   daemon and -t never import it (it is a test oracle only). procps: the units' ExecReload
#   is /bin/kill, which a minimal Debian lacks (found booting the unit in a minbase root).
#   /usr/lib/pykeepalived/       pykeepalived and the bundled pyroute2: a private module
#                                directory, on no interpreter's path, so the bundled pyroute2
#                                never shadows a python3-pyroute2 other programs use
#   /usr/bin/pykeepalived        /usr/bin/python3 with that directory first on sys.path
#   /usr/lib/systemd/system/     pykeepalived.service, pykeepalived-hardened.service (not /lib:
#                                trixie's lintian rejects the aliased /lib; bookworm's systemd
#                                and deb-systemd-helper read /usr/lib/systemd/system as well)
#   /etc/default/pykeepalived    conffile (DAEMON_ARGS)
#   /usr/share/man/man8/pykeepalived.8.gz
#   /usr/share/doc/pykeepalived/ copyright, changelog.Debian.gz, examples/ (conf.d)
# Byte code is compiled in postinst by the installed python3 (not shipped: it depends on the
# interpreter version) and removed in prerm.
# The unit is enabled and started the way dh_installsystemd does it for keepalived, except when
# keepalived.service is enabled: the units conflict, and the operator switches over
# deliberately (systemctl disable --now keepalived; systemctl enable --now pykeepalived). It
# starts only once /etc/keepalived/keepalived.conf exists (ConditionFileNotEmpty).
set -eu

OUT=${1:?usage: build-deb.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
PIP_ARGS=${PIP_ARGS:-}
LIB=/usr/lib/pykeepalived
MAINT="pykeepalived developers <pykeepalived@example.org>"

[ -x "$PYTHON" ] || { echo "build-deb.sh: $PYTHON not found" >&2; exit 1; }
"$PYTHON" -c 'import ensurepip' 2>/dev/null || {
    echo "build-deb.sh: $PYTHON has no venv/ensurepip (apt-get install python3-venv)" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: needs dpkg-deb" >&2; exit 1; }

# the pins come from pyproject.toml, the one place they are written
PROJECT=$("$PYTHON" - "$SRC/pyproject.toml" <<'EOF'
import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))["project"]
deps = {d.split("~")[0].split(">")[0].split("<")[0].split("=")[0].strip(): d
        for d in p["dependencies"]}
print(p["version"], deps["pyroute2"].replace(" ", ""))
EOF
)
VERSION=${PROJECT% *}
PYROUTE2=${PROJECT#* }
DEBVER="$VERSION-1"
# dates in the package come from the last commit (reproducible builds), else from now
EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || date +%s)}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/pykeepalived-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM
STAGE=$WORK/root
PRIV=$STAGE$LIB

# 1. a clean copy of the source: no venv, no stale build/ or egg-info leaking into the wheel
mkdir -p "$WORK/src"
tar -C "$SRC" --exclude=./.venv --exclude=./.git --exclude=./build --exclude='*.egg-info' \
    --exclude='__pycache__' --exclude=./tests --exclude=./bench --exclude=./packaging/out \
    -cf - . | tar -C "$WORK/src" -xf -

# 2. pykeepalived and pyroute2 into the private directory (pip only runs in a build venv)
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps $PIP_ARGS \
    -w "$WORK/wheels" "$WORK/src"
"$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check --no-compile --no-deps \
    $PIP_ARGS --target "$PRIV" "$WORK"/wheels/pykeepalived-*.whl "$PYROUTE2"
# console scripts (pyroute2's tools, our own entry) and pip's bookkeeping are not used
rm -rf "$PRIV/bin"
find "$PRIV" -name __pycache__ -type d -prune -exec rm -rf {} +
rm -f "$PRIV"/*.dist-info/direct_url.json "$PRIV"/*.dist-info/INSTALLER \
      "$PRIV"/*.dist-info/REQUESTED
for rec in "$PRIV"/*.dist-info/RECORD; do
    sed -i -e '/direct_url.json/d' -e '/INSTALLER/d' -e '/REQUESTED/d' -e '/^\.\.\/\.\.\//d' \
        -e '/^bin\//d' -e '/__pycache__/d' "$rec"
done
# modules are not programs: a #! line in a library file is noise (lintian: unusual-interpreter,
# script-not-executable); nothing runs them directly
find "$PRIV" -name '*.py' -exec sed -i '1{/^#!/d}' {} +
find "$PRIV" -type f -exec chmod 0644 {} +
find "$PRIV" -type d -exec chmod 0755 {} +
if grep -rIl "$WORK" "$PRIV" >/dev/null 2>&1; then
    echo "build-deb.sh: build path left in:" >&2; grep -rIl "$WORK" "$PRIV" >&2; exit 1
fi
if find "$PRIV" -name '*.so*' | grep -q .; then
    echo "build-deb.sh: compiled code in the private directory (the package is arch all)" >&2
    exit 1
fi

# 3. system integration
install -d "$STAGE/usr/bin" "$STAGE/usr/lib/systemd/system" "$STAGE/etc/default" \
    "$STAGE/usr/share/man/man8" "$STAGE/usr/share/doc/pykeepalived/examples" "$STAGE/DEBIAN"
cat > "$STAGE/usr/bin/pykeepalived" <<EOF
#!/usr/bin/python3 -P
# pykeepalived: keepalived-compatible VRRP / health-check / IPVS agent (pykeepalived(8)).
# Its modules and the pyroute2 it needs are in $LIB (Debian's python3-pyroute2 is too old).
import sys

sys.path.insert(0, "$LIB")
from pykeepalived.cli import main  # noqa: E402

sys.exit(main())
EOF
chmod 0755 "$STAGE/usr/bin/pykeepalived"
install -m 0644 "$HERE/pykeepalived.service" "$HERE/pykeepalived-hardened.service" \
    "$STAGE/usr/lib/systemd/system/"
install -m 0644 "$HERE/default/pykeepalived" "$STAGE/etc/default/pykeepalived"
gzip -9n -c "$HERE/pykeepalived.8" > "$STAGE/usr/share/man/man8/pykeepalived.8.gz"
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
YEAR=$(date -u -d "@$EPOCH" +%Y)
cat > "$STAGE/usr/share/doc/pykeepalived/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pykeepalived

Files: *
Copyright: $YEAR pykeepalived developers
License: GPL-2+
 On Debian systems the full text of the GNU General Public License version 2 is in
 /usr/share/common-licenses/GPL-2.

Files: usr/lib/pykeepalived/pyroute2/*
Copyright: Peter Saveliev and the pyroute2 contributors
License: GPL-2+ or Apache-2.0
 pyroute2 $(echo "$PYROUTE2" | sed 's/pyroute2//'), bundled because Debian's python3-pyroute2
 (0.7.2 in bookworm, 0.7.7 in trixie) lacks the asyncio API pykeepalived uses. Its licence texts
 are in usr/lib/pykeepalived/pyroute2-*.dist-info/. On Debian systems the full text of the
 Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0.
EOF
gzip -9n -c > "$STAGE/usr/share/doc/pykeepalived/changelog.Debian.gz" <<EOF
pykeepalived ($DEBVER) unstable; urgency=medium

  * Built from the pykeepalived source tree by packaging/build-deb.sh.

 -- $MAINT  $(date -u -R -d "@$EPOCH")
EOF

# lintian: what it reports that is true but intended
install -d "$STAGE/usr/share/lintian/overrides"
cat > "$STAGE/usr/share/lintian/overrides/pykeepalived" <<EOF
# not an upload to Debian: there is no ITP bug to close
pykeepalived: initial-upload-closes-no-bugs
# the bundled pyroute2's licence texts stay with its code (its dist-info directory)
pykeepalived: extra-license-file [usr/lib/pykeepalived/pyroute2-*.dist-info/*]
pykeepalived: package-contains-documentation-outside-usr-share-doc [usr/lib/pykeepalived/pyroute2-*.dist-info/*]
# the keyword table the config reader loads at run time, not documentation
pykeepalived: package-contains-documentation-outside-usr-share-doc [usr/lib/pykeepalived/pykeepalived/config/keywords.txt]
EOF
chmod 0644 "$STAGE/usr/share/lintian/overrides/pykeepalived"

# 4. maintainer scripts: dh_installsystemd's snippets (deb-systemd-helper / -invoke), plus
#    byte code; pykeepalived-hardened.service is never enabled here
cat > "$STAGE/DEBIAN/conffiles" <<EOF
/etc/default/pykeepalived
EOF
cat > "$STAGE/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
    python3 -m compileall -q $LIB >/dev/null 2>&1 || true
fi
if [ "\$1" = configure ] || [ "\$1" = abort-upgrade ] || [ "\$1" = abort-deconfigure ] || \\
        [ "\$1" = abort-remove ]; then
    deb-systemd-helper unmask pykeepalived.service >/dev/null || true
    # was-enabled is true on a first install: enable, unless keepalived.service is enabled
    # (they conflict; the operator switches over deliberately)
    if [ -z "\$2" ] && [ -e /etc/systemd/system/multi-user.target.wants/keepalived.service ]; then
        deb-systemd-helper update-state pykeepalived.service >/dev/null || true
        echo "pykeepalived: keepalived.service is enabled; pykeepalived.service is left" \\
            "disabled (to switch: systemctl disable --now keepalived;" \\
            "systemctl enable --now pykeepalived)"
    elif deb-systemd-helper --quiet was-enabled pykeepalived.service; then
        deb-systemd-helper enable pykeepalived.service >/dev/null || true
    else
        deb-systemd-helper update-state pykeepalived.service >/dev/null || true
    fi
    deb-systemd-helper update-state pykeepalived-hardened.service >/dev/null || true
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        if [ -n "\$2" ]; then
            # an upgrade restarts whichever unit is running
            deb-systemd-invoke try-restart pykeepalived.service \\
                pykeepalived-hardened.service >/dev/null || true
        else
            # deb-systemd-invoke starts only an enabled unit; no config, no start
            deb-systemd-invoke start pykeepalived.service >/dev/null || true
        fi
    fi
fi
exit 0
EOF
cat > "$STAGE/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
if [ -z "\${DPKG_ROOT:-}" ] && [ "\$1" = remove ] && [ -d /run/systemd/system ]; then
    deb-systemd-invoke stop pykeepalived.service pykeepalived-hardened.service \\
        >/dev/null || true
fi
find $LIB -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
exit 0
EOF
cat > "$STAGE/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "\$1" = remove ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "\$1" = remove ] && command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper mask pykeepalived.service pykeepalived-hardened.service \\
        >/dev/null || true
fi
if [ "\$1" = purge ]; then
    rm -rf /run/pykeepalived
    if command -v deb-systemd-helper >/dev/null; then
        deb-systemd-helper purge pykeepalived.service pykeepalived-hardened.service \\
            >/dev/null || true
        deb-systemd-helper unmask pykeepalived.service pykeepalived-hardened.service \\
            >/dev/null || true
    fi
fi
exit 0
EOF
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/prerm" "$STAGE/DEBIAN/postrm"

# 5. control, md5sums, and the archive (every mtime clamped to the commit's date)
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<EOF
Package: pykeepalived
Version: $DEBVER
Architecture: all
Maintainer: $MAINT
Installed-Size: $SIZE
Depends: python3 (>= 3.11), python3-lark (>= 1.1.5), python3-psutil (>= 5.9), iproute2, procps, init-system-helpers (>= 1.52)
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
 It bundles pyroute2 $(echo "$PYROUTE2" | sed 's/pyroute2//') in $LIB (Debian's is too old).
EOF
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort \
    | xargs -d '\n' md5sum) > "$WORK/md5sums"
mv "$WORK/md5sums" "$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/md5sums" "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles"
find "$STAGE" -newermt "@$EPOCH" -exec touch -h -d "@$EPOCH" {} +

DEB="$OUT/pykeepalived_${DEBVER}_all.deb"
SOURCE_DATE_EPOCH=$EPOCH dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
