"""The typed channel between the parent and a child: one socketpair per child, one JSON line
per message, each message a frozen dataclass named in MESSAGES.

Why not the state files: a file is polled (seconds late) and read by whoever looks, while a
message is pushed at the moment of the change to the one process that needs it. The parent
keeps the checker's last results so a respawned checker starts from them instead of
reporting every real server up before it has checked it. The state files stay as the
read-only view `pykeepalived status` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger("pykeepalived.daemon")

ENV_FD = "PYKEEPALIVED_CHANNEL_FD"
ENV_KNOWN_FD = "PYKEEPALIVED_KNOWN_FD"
MAX_LINE = 1 << 20

RsKey = tuple[str, int | None]


@dataclass(frozen=True)
class RsState:
    """checker -> parent: a real server's health changed (or was first reported)."""

    vs: str
    rs: RsKey
    alive: bool
    removed: bool = False


@dataclass(frozen=True)
class VrrpState:
    """vrrp -> parent -> checker: an instance's state, pushed at the transition."""

    instance: str
    state: str


@dataclass(frozen=True)
class VrrpChild:
    """parent -> checker: whether the parent's VRRP child runs, sent when the checker starts
    and at each VRRP child start and death. Only a parent running a VRRP child sends it; a
    checker that never hears it (-C beside a separate -P process) reads the state file."""

    alive: bool


@dataclass(frozen=True)
class IpvsSynced:
    """checker -> parent -> vrrp: the first IPVS reconcile is done (wait_for_ipvs)."""


@dataclass(frozen=True)
class Reload:
    """parent -> child: the model the parent validated, as ``size`` bytes of pickle right
    after this line (the child never parses the file on a reload)."""

    size: int


@dataclass(frozen=True)
class ReloadRequest:
    """child -> parent: someone sent the child SIGHUP itself; the parent reloads them all."""


Message = RsState | VrrpState | VrrpChild | IpvsSynced | Reload | ReloadRequest
MESSAGES: dict[str, type[Any]] = {c.__name__: c for c in (RsState, VrrpState, VrrpChild,
                                                          IpvsSynced, Reload, ReloadRequest)}
MAX_BLOB = 1 << 30


def encode(msg: Message) -> bytes:
    return (json.dumps({"type": type(msg).__name__, **asdict(msg)}) + "\n").encode()


def decode(line: bytes) -> Message | None:
    """The message on one line; None (logged) for anything that is not one of ours."""
    try:
        d = json.loads(line)
        cls = MESSAGES[d.pop("type")]
        if cls is RsState:
            d["rs"] = (str(d["rs"][0]), d["rs"][1])
        msg: Message = cls(**d)
        return msg
    except (ValueError, KeyError, TypeError, IndexError) as e:
        log.warning("channel: dropped a malformed message (%s)", e)
        return None


class Endpoint:
    """One side of a channel in an asyncio loop: send() never blocks the loop (the writer
    buffers), messages that come in go to ``on_message``."""

    def __init__(self, sock: socket.socket,
                 on_message: Callable[[Message, bytes | None], None]) -> None:
        self.sock = sock
        self.on_message = on_message
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        reader, self.writer = await asyncio.open_unix_connection(sock=self.sock,
                                                                 limit=MAX_LINE)
        self.task = asyncio.get_running_loop().create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readline()
            except (ValueError, ConnectionError):  # over MAX_LINE, or the peer reset
                return
            if not line:
                return
            msg = decode(line)
            blob: bytes | None = None
            if isinstance(msg, Reload):
                if not 0 <= msg.size <= MAX_BLOB:
                    log.error("channel: a %d-byte model is not plausible; closing", msg.size)
                    return
                try:  # read without blocking the loop: adverts go on meanwhile
                    blob = await reader.readexactly(msg.size)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
            if msg is not None:
                try:
                    self.on_message(msg, blob)
                except Exception:
                    log.exception("channel: handling %r failed", msg)

    def send(self, msg: Message, blob: bytes = b"") -> None:
        if self.writer is None or self.writer.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            self.writer.write(encode(msg) + blob)

    def send_model(self, model: object) -> None:
        """A Reload with the pickled model (the same hand-off as the respawn memfd)."""
        import pickle

        data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        self.send(Reload(len(data)), data)

    @property
    def open(self) -> bool:
        return self.writer is not None and not self.writer.is_closing()

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()


def child_endpoint(on_message: Callable[[Message, bytes | None], None]) -> Endpoint | None:
    """The child's side, from the fd the parent passed (None: run without a parent)."""
    fd_s = os.environ.pop(ENV_FD, "")
    if not fd_s.isdigit():
        return None
    try:
        sock = socket.socket(fileno=int(fd_s))
    except OSError as e:
        log.warning("channel: fd %s unusable (%s)", fd_s, e)
        return None
    sock.setblocking(False)
    return Endpoint(sock, on_message)


# -- the checker's last known results, handed to a respawned checker ------------------
def write_known(results: dict[tuple[str, RsKey], bool]) -> int:
    """A memfd (as the config's) holding the results: inherited only by our child."""
    fd = os.memfd_create("pykeepalived-known", os.MFD_CLOEXEC)
    data = [[vs, list(rs), alive] for (vs, rs), alive in results.items()]
    os.write(fd, json.dumps(data).encode())
    return fd


def read_known() -> dict[tuple[str, RsKey], bool] | None:
    """The results the parent passed (None: a first start, keepalived's initial states)."""
    fd_s = os.environ.pop(ENV_KNOWN_FD, "")
    if not fd_s.isdigit():
        return None
    fd = int(fd_s)
    try:
        raw = os.pread(fd, os.fstat(fd).st_size, 0)
        return {(str(vs), (str(rs[0]), rs[1])): bool(alive)
                for vs, rs, alive in json.loads(raw)}
    except (OSError, ValueError, TypeError, IndexError) as e:
        log.warning("cannot read the last known results (%s): every real server is down "
                    "until checked", e)
        return {}
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


def prune(results: dict[tuple[str, RsKey], bool], keys: Iterable[tuple[str, RsKey]]
          ) -> dict[tuple[str, RsKey], bool]:
    """Only what the running config still has."""
    keep = set(keys)
    return {k: v for k, v in results.items() if k in keep}
