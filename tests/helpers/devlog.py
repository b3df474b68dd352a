"""A private /dev for one command: with /dev/log bound to a socket the test reads (syslog as
the command sends it), or with no /dev/log at all (containers, minimal hosts).

The command runs in its own mount namespace (unshare -m): the host's /dev is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# a tmpfs over /dev with the nodes daemons need; /dev/log only when a socket is given
PRIVDEV = r"""
set -e
d=$(mktemp -d /tmp/pyk-dev.XXXXXX)
mount -t tmpfs -o mode=755 none "$d"
for n in null zero full random urandom tty; do
  touch "$d/$n"; mount --bind "/dev/$n" "$d/$n"
done
mkdir "$d/pts" "$d/shm"; ln -s /proc/self/fd "$d/fd"
if [ -n "$PYK_DEVLOG" ]; then touch "$d/log"; mount --bind "$PYK_DEVLOG" "$d/log"; fi
mount --move "$d" /dev
rmdir "$d" 2>/dev/null || true
exec "$@"
"""

LINE = re.compile(rb"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) ([^\[\]: ]+)\[(\d+)\]: "
                  rb"(.*)$", re.S)


def can_privdev() -> str | None:
    """Why the private /dev cannot be made here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (mount namespaces)"
    if shutil.which("unshare") is None:
        return "needs unshare (util-linux)"
    return None


def wrap(cmd: list[str], devlog: str | None) -> tuple[list[str], dict[str, str]]:
    """argv and environment that run `cmd` with the private /dev."""
    env = {**os.environ, "PYK_DEVLOG": devlog or ""}
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", PRIVDEV, "privdev",
            *cmd], env


@dataclass(frozen=True)
class Datagram:
    pri: int
    stamp: str
    ident: str
    pid: int
    msg: str


class SyslogSink:
    """A unix datagram socket standing in for /dev/log, read at once as a syslogd would
    (the kernel queues only max_dgram_qlen datagrams for a slow reader)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.raw: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                d = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.raw.append(d)

    def drain(self) -> list[bytes]:
        with self._lock:
            return list(self.raw)

    def wait_for(self, text: str, timeout: float, count: int = 1) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if sum(text.encode() in d for d in self.drain()) >= count:
                return True
            time.sleep(0.05)
        return False

    def parsed(self) -> list[Datagram]:
        out = []
        for d in self.drain():
            m = LINE.match(d)
            if m is None:
                raise AssertionError(f"not a syslog(3) datagram: {d!r}")
            out.append(Datagram(int(m[1]), m[2].decode(), m[3].decode(), int(m[4]),
                                m[5].decode()))
        return out

    def close(self) -> None:
        self._stop.set()
        self._reader.join(2)
        self.sock.close()
        self.path.unlink(missing_ok=True)
