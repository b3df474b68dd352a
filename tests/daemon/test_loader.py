"""daemon/loader.py: the daemon's config load runs in a forked loader and gives exactly what
load_config gives in-process, while the parent (and so every child it forks) never imports
the parser; a loader that fails is replaced by an in-process load, said in the log.

And the start path's imports: what the parent and the VRRP child import before the first
advert leaves out what only a reload, a dump, a sync group or AH authentication needs."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from pykeepalived.config import LoadOptions, LoadResult, load_config
from pykeepalived.daemon import loader

ROOT = Path(__file__).resolve().parents[2]
SEED = str(ROOT / "conf.d" / "lvs-dr-master.conf")  # loads with deprecation warnings


def _same(a: loader.Loaded | LoadResult, b: LoadResult) -> None:
    assert a.config == b.config
    assert [d.format() for d in a.diagnostics.items] == [d.format() for d in b.diagnostics.items]
    assert a.exit_code() == b.exit_code()


@pytest.mark.parametrize("text", [
    None,  # the seed: warnings, rc 0
    "vrrp_instance VI_1 {\n  state BACKUP\n  interface lo\n  virtual_router_id 300\n"
    "  priority 100\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n",  # a range error
    "vrrp_instance VI_1 {\n  state BACKUP\n",  # unbalanced braces
])
def test_loader_gives_what_load_config_gives(tmp_path: Path, text: str | None) -> None:
    path = SEED
    if text is not None:
        path = str(tmp_path / "k.conf")
        Path(path).write_text(text)
    _same(loader.start(path).result(), load_config(path, LoadOptions()))


def test_missing_file_and_config_id(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.conf")
    _same(loader.start(missing).result(), load_config(missing, LoadOptions()))
    conf = tmp_path / "k.conf"
    conf.write_text("global_defs {\n@a  router_id A\n@b  router_id B\n}\n")
    got = loader.start(str(conf), config_id="b").result()
    _same(got, load_config(str(conf), LoadOptions(config_id="b")))
    assert got.config.global_defs.router_id == "B"


def test_parent_never_imports_the_parser() -> None:
    """What the daemon's parent runs up to its children's fork: the loader's model comes back,
    the parser (lark, and the hashlib/OpenSSL it pulls in) stays in the loader."""
    code = (
        "import sys, json; from pykeepalived.daemon import loader; "
        f"res = loader.start({SEED!r}).result(); "
        "import pykeepalived.daemon.supervisor, pykeepalived.daemon.logsetup, "
        "pykeepalived.daemon.child; "
        "print(json.dumps([len(res.config.vrrp_instances), sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('lark', 'hashlib', '_hashlib', 'pyroute2', 'psutil') "
        "or m == 'logging.handlers')]))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    n, mods = json.loads(p.stdout.strip().splitlines()[-1])
    assert n >= 1, p.stderr
    assert mods == [], p.stderr


def test_vrrp_engine_imports_only_what_the_start_needs() -> None:
    """The VRRP child's engine: no reload plan, snapshot or sync group modules before they are
    used, and no hmac/hashlib (OpenSSL) unless AH authentication runs."""
    code = ("import sys; import pykeepalived.vrrp.engine; print(sorted(m for m in sys.modules "
            "if m in ('hmac', 'hashlib', '_hashlib', 'pykeepalived.vrrp.reload_plan', "
            "'pykeepalived.vrrp.snapshot', 'pykeepalived.vrrp.sync_group', 'pyroute2')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    assert p.stdout.strip().splitlines()[-1] == "[]", p.stdout + p.stderr


def test_failed_loader_falls_back_in_process(monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_a: object, **_k: object) -> bytes:
        raise RuntimeError("no pickling today")

    monkeypatch.setattr(pickle, "dumps", broken)  # the forked loader inherits this
    with caplog.at_level(logging.WARNING, logger="pykeepalived.daemon"):
        got = loader.start(SEED).result()
    _same(got, load_config(SEED, LoadOptions()))
    assert any("exited with 1 (RuntimeError: no pickling today)" in r.getMessage()
               and "loading" in r.getMessage()
               for r in caplog.records), caplog.text


def test_async_load_for_a_reload(tmp_path: Path) -> None:
    """A reload's load: the loop runs on while the loader parses (a timer fires meanwhile)."""
    async def main() -> tuple[loader.Loaded, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        t = asyncio.get_running_loop().create_task(tick())
        res = await loader.load(SEED)
        t.cancel()
        return res, ticks

    res, ticks = asyncio.run(main())
    _same(res, load_config(SEED, LoadOptions()))
    assert ticks > 1


def test_failed_loader_on_a_reload_keeps_the_running_config(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A reload's loader that gives no result: no parse inside the event loop (seconds with no
    signal forwarded, no child watched); the reload is aborted, the running model kept, the
    loader reaped."""
    import argparse
    import os

    from pykeepalived.daemon.supervisor import Supervisor

    def broken(*_a: object, **_k: object) -> bytes:
        raise RuntimeError("no pickling today")

    running = load_config(SEED, LoadOptions()).config
    sup = Supervisor(argparse.Namespace(conf=SEED, config_id=None, all_config=False), [],
                     running)

    async def main() -> None:
        with pytest.raises(loader.LoadFailed, match=r"exited with 1 \(RuntimeError: no pick"):
            await loader.load(SEED)
        await sup._reload()

    monkeypatch.setattr(pickle, "dumps", broken)  # the forked loaders inherit this
    with caplog.at_level(logging.INFO, logger="pykeepalived.daemon"):
        asyncio.run(main())
    assert sup.config is running
    msgs = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Reload aborted: the config loader") and "keeping the running" in m
               for m in msgs), msgs
    assert not any("in this process" in m for m in msgs), msgs
    pids = [int(m.split("(pid ")[1].split(")")[0]) for m in msgs if "(pid " in m]
    assert pids, msgs
    for pid in pids:  # every loader was reaped: no zombie
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_sighup_storm_and_stop_during_a_reload(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGHUPs during a reload queue one reload behind it, not one loader each; a stop that
    comes while the loader parses leaves the model (and the children) as they are."""
    import argparse

    from pykeepalived.daemon import supervisor
    from pykeepalived.daemon.supervisor import Supervisor

    running = load_config(SEED, LoadOptions()).config
    sup = Supervisor(argparse.Namespace(conf=SEED, config_id=None, all_config=False), [],
                     running)
    calls: list[str] = []

    async def slow_failing(path: str, *_a: object) -> loader.Loaded:
        calls.append(path)
        await asyncio.sleep(0.05)
        raise loader.LoadFailed("test")

    async def storm() -> None:
        for _ in range(20):
            sup.reload()
            await asyncio.sleep(0.001)
        while sup._reloading.locked() or sup._reload_queued:
            await asyncio.sleep(0.01)

    monkeypatch.setattr(supervisor.loader, "load", slow_failing)
    asyncio.run(asyncio.wait_for(storm(), 30))
    assert calls == [SEED, SEED]  # the first, and one for every SIGHUP that came during it

    other = load_config(SEED, LoadOptions(config_id="x")).config

    async def stopped_meanwhile(*_a: object) -> loader.Loaded:
        sup.request_stop()
        return loader.Loaded(other, load_config(SEED, LoadOptions()).diagnostics)

    monkeypatch.setattr(supervisor.loader, "load", stopped_meanwhile)
    asyncio.run(sup._reload_locked())
    assert sup.config is running


def test_a_reload_that_raises_is_logged(monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """An exception in a reload (a task's: asyncio would only print it, to a stderr that is
    /dev/null once daemonized, when the task is collected) is in the daemon's log."""
    import argparse

    from pykeepalived.daemon import supervisor
    from pykeepalived.daemon.supervisor import Supervisor

    running = load_config(SEED, LoadOptions()).config
    sup = Supervisor(argparse.Namespace(conf=SEED, config_id=None, all_config=False), [],
                     running)

    async def bug(*_a: object) -> loader.Loaded:
        raise RuntimeError("a bug")

    monkeypatch.setattr(supervisor.loader, "load", bug)
    with caplog.at_level(logging.INFO, logger="pykeepalived.daemon"):
        asyncio.run(sup._reload())
    failed = [r for r in caplog.records if r.getMessage() == "Reload failed"]
    assert failed and failed[0].exc_info and "a bug" in str(failed[0].exc_info[1])
    assert sup.config is running


def test_a_stuck_reload_loader_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loader that never answers (an include that never ends) is bounded: killed and reaped
    after the timeout, the reload told so."""
    import os
    import time

    import pykeepalived.config.load as load_mod

    def stuck(*_a: object, **_k: object) -> LoadResult:
        time.sleep(60)
        raise AssertionError("not killed")

    monkeypatch.setattr(load_mod, "load_config", stuck)  # the forked loader inherits this
    t0 = time.monotonic()
    with pytest.raises(loader.LoadFailed, match=r"did not finish in 0.5 s; killed it") as e:
        asyncio.run(loader.load(SEED, timeout=0.5))
    assert time.monotonic() - t0 < 30
    pid = int(str(e.value).split("(pid ")[1].split(")")[0])
    with pytest.raises(ChildProcessError):  # reaped: no zombie
        os.waitpid(pid, os.WNOHANG)


def test_loader_keeps_none_of_the_parents_descriptors(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    """The loader holds only 0-2 and its pipe: not the parent's sockets, files or epoll (a
    loader that outlived them would keep them open)."""
    import os

    import pykeepalived.config.load as load_mod

    def report(*_a: object, **_k: object) -> LoadResult:
        raise RuntimeError("fds " + ",".join(sorted(os.listdir("/proc/self/fd"), key=int)))

    monkeypatch.setattr(load_mod, "load_config", report)
    held = os.open(tmp_path, os.O_RDONLY)  # inheritable: forked, not exec'd, it would stay
    try:
        with pytest.raises(loader.LoadFailed) as e:
            asyncio.run(loader.load(SEED))
    finally:
        os.close(held)
    fds = {int(n) for n in str(e.value).split("fds ")[1].rstrip(")").split(",")}
    assert held not in fds
    assert len(fds - {0, 1, 2}) <= 2, fds  # the pipe, and the listing's own directory
