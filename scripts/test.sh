#!/usr/bin/env bash
# The one test command (README.md): install what the tests need when it is missing, then pytest.
# Runs as root on a fresh Debian machine; safe to run again (it only installs what is absent).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(keepalived iproute2 tcpdump ipvsadm user-mode-linux iputils-ping procps psmisc gcc libc6-dev openssl debootstrap prometheus frr bird2
          lintian systemd-container)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "== installing system packages: ${missing[*]}"
    apt-get update -qq || echo "== apt-get update failed: installing from the lists at hand" >&2
    # one package the mirror lacks must not cost the others, nor stop the run: the tests that
    # need a package still missing skip with the reason
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null; then
      for p in "${missing[@]}"; do
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" \
          >/dev/null || echo "== could not install $p: tests that need it will be skipped" >&2
      done
    fi
    # the package's postinst may start keepalived: it must not run beside our tests (nor come
    # back at the next boot)
    systemctl disable --now keepalived 2>/dev/null || true
    # by its pidfile, never by name (a running pykeepalived also shows as comm 'keepalived')
    if [ -s /run/keepalived.pid ]; then kill "$(cat /run/keepalived.pid)" 2>/dev/null || true; fi
    # prometheus (for promtool and a one-shot scrape test) likewise: stop the packaged server
    systemctl disable --now prometheus 2>/dev/null || true
    if [ -s /run/prometheus/prometheus.pid ]; then
      kill "$(cat /run/prometheus/prometheus.pid)" 2>/dev/null || true
    fi
    # the same for FRR and BIRD (tests/ecmp runs its own copies inside namespaces): nothing
    # may route on the host; stopped by their pidfiles, and kept from starting at boot
    for svc in frr bird; do
      systemctl disable --now "$svc" 2>/dev/null || true
    done
    for pf in /run/frr/*.pid /run/bird/bird.pid; do
      if [ -f "$pf" ]; then kill "$(cat "$pf")" 2>/dev/null || true; fi
    done
  else
    echo "== missing system packages (${missing[*]}); tests that need them will be skipped" >&2
  fi
fi

# the second oracle, keepalived 2.3.3 (Debian 13) in a debootstrap'd root (~30 s, reused);
# tests that need it skip with the reason when it cannot be built
if [ "$(id -u)" -eq 0 ]; then
  if ! bash scripts/kad233-root.sh; then
    echo "== keepalived 2.3.3 root not built: its tests will skip" >&2
    export PYK_KAD233_BUILD=0  # do not try again from inside the tests
  fi
fi

# the clean Debian 12 / 13 roots (with systemd) the .deb is installed into and booted under
# systemd-nspawn (~1 min each, reused); tests that need them skip with the reason when missing
if [ "$(id -u)" -eq 0 ]; then
  if ! bash scripts/pkg-roots.sh; then
    echo "== Debian roots for the .deb tests not built: those tests will skip" >&2
    export PYK_PKG_ROOTS_BUILD=0  # do not try again from inside the tests
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== installing pykeepalived[test]"
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]"

echo "== ruff"
.venv/bin/ruff check pykeepalived tests bench

echo "== pytest"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
# pytest exits 5 when it collected no test: that is a failure of the suite, say so plainly
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit $rc
