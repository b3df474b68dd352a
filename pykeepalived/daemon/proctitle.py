"""Process names operators' tools find: `keepalived` in comm, `pykeepalived ...` in cmdline.

A Python daemon shows as `python3` (comm) and `/usr/bin/python3 /usr/bin/pykeepalived ...`
(cmdline), so `pidof keepalived`, `ps -C keepalived`, monitoring process checks and
gen2brain/keepalived_exporter (which signals the first process whose name is `keepalived`)
find nothing. keepalived 2.2.7 names all three processes `keepalived` (comm) with the same
command line. We set comm to `keepalived` (prctl PR_SET_NAME: ps -C, pgrep, top, process
exporters) and argv[0] to `pykeepalived` (pidof reads argv[0]: `pidof pykeepalived` finds
ours only; `pidof keepalived` does not find us).

No C extension and no dependency (the setproctitle package would do the same): the new
command line goes into a buffer the kernel is told about (PR_SET_MM_ARG_START/END, needs
CAP_SYS_RESOURCE, as systemd's rename_process), else over the original argv area, which is
always long enough: the interpreter's path and `-P -m` are dropped.
"""

from __future__ import annotations

import ctypes
import mmap

COMM = "keepalived"
ARGV0 = "pykeepalived"
PR_SET_NAME = 15
PR_SET_MM = 35
PR_SET_MM_ARG_START = 8
PR_SET_MM_ARG_END = 9

_keep: list[object] = []  # the buffer the kernel points at must live as long as we do


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def set_comm(name: str = COMM) -> bool:
    """/proc/self/comm (15 bytes at most), what `ps -C`, pgrep and top show."""
    return _libc().prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0) == 0


def _arg_area() -> tuple[int, int]:
    """arg_start, arg_end from /proc/self/stat (fields 48 and 49)."""
    with open("/proc/self/stat", "rb") as fh:
        stat = fh.read()
    fields = stat[stat.rindex(b")") + 2:].split()  # after "pid (comm) ": field 3 onwards
    return int(fields[47 - 2]), int(fields[48 - 2])


def set_cmdline(argv: list[str]) -> bool:
    """/proc/self/cmdline, what `ps -f`, pidof (argv[0]) and process exporters read."""
    data = b"\0".join(a.encode() for a in argv) + b"\0"
    libc = _libc()
    buf = mmap.mmap(-1, len(data))
    buf.write(data)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]
    if libc.prctl(PR_SET_MM, PR_SET_MM_ARG_START, addr, 0, 0) == 0:
        if libc.prctl(PR_SET_MM, PR_SET_MM_ARG_END, addr + len(data), 0, 0) == 0:
            _keep.append(buf)
            return True
        start, _ = _arg_area()
        libc.prctl(PR_SET_MM, PR_SET_MM_ARG_START, start, 0, 0)  # put it back
    try:
        start, end = _arg_area()
    except (OSError, ValueError, IndexError):
        return False
    size = end - start
    if size < len(data) or start == 0:
        return False
    ctypes.memmove(start, data + b"\0" * (size - len(data)), size)
    return True


def name_process(args: list[str]) -> None:
    """Best effort: a process that cannot be renamed still runs (logged by nobody)."""
    try:
        set_comm()
        set_cmdline([ARGV0, *args])
    except (OSError, ValueError, AttributeError):
        pass


def comm_of(pid: int) -> str:
    with open(f"/proc/{pid}/comm", encoding="utf-8") as fh:
        return fh.read().strip()

