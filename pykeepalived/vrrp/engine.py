"""The VRRP runtime: drives the pure FSM (fsm.step) with a monotonic clock and real effectors.

Why this shape: every protocol decision lives in fsm.py / sync_group.py (tested with a fake
clock); this module only turns packets, timers, tracking and netlink events into FSM events and
FSM actions into packets, netlink calls, GARPs, notify scripts and keepalived's log lines.

Timing rules it keeps:
* adverts are sent synchronously from the timer callback (never behind a netlink call or a
  script); VIP changes, GARP bursts and scripts run in per-instance worker tasks, in order;
* sockets are drained in bounded batches (sockets.RX_BATCH), so a flood of junk competes with
  our timers fairly instead of starving them; loop lateness at each timer is measured;
* dropped packets are counted per codec.DropReason and logged with a rate limit.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any

from pykeepalived.config.model import Config, VirtualIP, VrrpInstance, VrrpSyncGroup
from pykeepalived.config.model import State as CfgState
from pykeepalived.logdefer import deferred, later
from pykeepalived.loglevels import DETAIL
from pykeepalived.vrrp import codec, fsm
from pykeepalived.vrrp.addresses import vip_str
from pykeepalived.vrrp.announce import Schedule
from pykeepalived.vrrp.effectors import Clock, Effectors, LoopClock, Timer
from pykeepalived.vrrp.notify import Notifier
from pykeepalived.vrrp.rxlog import rx_note
from pykeepalived.vrrp.sockets import IPPROTO_AH, IPPROTO_VRRP, RxPacket, SocketPool, VrrpSocket
from pykeepalived.vrrp.tracking import Tracker, tracking_events
from pykeepalived.vrrp.vmac import VmacLink, vmac_name

if TYPE_CHECKING:  # imported where used: not needed to reach BACKUP (~15 ms of the start)
    from pykeepalived.vrrp import reload_plan
    from pykeepalived.vrrp.snapshot import VrrpSnapshot
    from pykeepalived.vrrp.sync_group import SyncGroup

log = logging.getLogger("pykeepalived.vrrp")

IPAddr = IPv4Address | IPv6Address
NO_SOURCE_FAULT = "no_source_address"
PRECISE = 0.002  # seconds: how early the master-down timer is armed (see _arm)
COARSE_SLACK = 0.005  # and, on a long wait, this share of it earlier again (kernel slack 0.1 %)
DROP_LOG_INTERVAL = 1.0  # seconds between two log lines for the same drop reason
LL_WAIT = 5.0  # seconds to wait for an IPv6 link-local address (DAD) at start


@dataclass
class EngineOptions:
    """How the engine behaves around start and stop."""

    release_vips_on_exit: bool = True  # keepalived removes VIPs when it stops
    remove_stale_vips: bool = True  # keepalived's "(VI_1) removing VIPs." at start-up


@dataclass
class Runtime:
    """Everything the engine keeps per vrrp_instance."""

    cfg: VrrpInstance
    st: fsm.InstanceState
    ifname: str
    ifindex: int
    mac: str
    src: IPAddr | None
    dsts: tuple[IPAddr, ...]
    expect: codec.RxExpect
    sock: VrrpSocket | None = None
    handler: Any = None
    timer: Timer | None = None
    ip_id: int = 0
    ah_seq: int = 0
    ah_rx_seq: int = 0
    counters: Counter[str] = field(default_factory=Counter)
    last_src: IPAddr | None = None
    last_prio: int | None = None
    last_time: float | None = None  # wall clock
    last_transition: float = field(default_factory=time.time)
    vips_set: bool = False
    applied_prio: int | None = None
    applied_faults: frozenset[str] = frozenset()
    queue: asyncio.Queue[tuple[Any, ...]] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    busy: bool = False  # the worker is inside an operation
    # encoded VRRP messages by (priority, destination), valid for adv_key's (cfg, src)
    adv_cache: dict[tuple[int, Any], bytes] = field(default_factory=dict)
    adv_key: tuple[Any, Any] | None = None
    drop_log: dict[str, tuple[float, int]] = field(default_factory=dict)
    vmac: VmacLink | None = None  # use_vmac: ifname/ifindex/mac above are the macvlan's

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def xmit_ifname(self) -> str:
        """Where the VRRP socket lives: the VMAC unless vmac_xmit_base (keepalived)."""
        if self.vmac is not None and self.cfg.vmac_xmit_base:
            return self.vmac.base
        return self.ifname

    def advertised(self) -> list[VirtualIP]:
        return [v for v in self.cfg.virtual_ipaddress if v.family == self.cfg.family]

    def idle(self) -> bool:
        """Nothing queued or running in the worker: a VIP change now cannot overtake one."""
        return not self.busy and self.queue.empty()

    def all_vips(self) -> list[VirtualIP]:
        return list(self.cfg.virtual_ipaddress) + list(self.cfg.virtual_ipaddress_excluded)


def _adver_units(inst: VrrpInstance) -> int:
    """Wire interval: v2 whole seconds, v3 centiseconds."""
    if inst.version == 2:
        return max(1, round(inst.advert_int))
    return max(1, min(4095, round(inst.advert_int * 100)))


def build_expect(inst: VrrpInstance) -> codec.RxExpect:
    auth = codec.AuthType.NONE
    if inst.version == 2 and inst.auth_type == "PASS":
        auth = codec.AuthType.PASS
    elif inst.version == 2 and inst.auth_type == "AH":
        auth = codec.AuthType.AH
    key = codec.auth_key(inst.auth_pass or "")
    return codec.RxExpect(
        vrid=inst.virtual_router_id, version=inst.version, family=inst.family,
        adver_int=_adver_units(inst), auth_type=auth, auth_key=key,
        addresses=tuple(v.address.ip for v in inst.virtual_ipaddress if v.family == inst.family),
        check_addresses=not inst.skip_check_adv_addr, unicast=bool(inst.unicast_peer),
        v3_checksum_as_v2=inst.v3_checksum_as_v2)


def fsm_config(inst: VrrpInstance, src: IPAddr | None) -> fsm.FsmConfig:
    addr = src or (IPv4Address(0) if inst.family == 4 else IPv6Address(0))
    return fsm.FsmConfig(
        vrid=inst.virtual_router_id, address=addr, priority=inst.priority,
        advert_int=inst.advert_int if inst.version == 3 else float(_adver_units(inst)),
        version=inst.version,
        initial_state=fsm.State.MASTER if inst.state == CfgState.MASTER else fsm.State.BACKUP,
        preempt=not inst.nopreempt, preempt_delay=inst.preempt_delay,
        down_timer_adverts=inst.down_timer_adverts,
        higher_prio_send_advert=inst.higher_prio_send_advert,
        lower_prio_no_advert=inst.lower_prio_no_advert,
        garp_lower_prio=inst.garp_lower_prio_repeat > 0,
        sync_group=inst.sync_group is not None)


# VIP-list differences keepalived 2.3.3 accepts (counted and logged) instead of dropping
ADDR_MISMATCH = frozenset({codec.DropReason.ADDRESS_COUNT, codec.DropReason.ADDRESS_LIST})


class VrrpEngine:
    """Runs every vrrp_instance of a Config in the current asyncio loop."""

    def __init__(self, config: Config, options: EngineOptions | None = None, *,
                 effectors: Effectors | None = None, clock: Clock | None = None) -> None:
        self.config = config
        self.options = options or EngineOptions()
        self.rts: dict[str, Runtime] = {}
        self.groups: dict[str, SyncGroup] = {}
        eff = effectors or Effectors()
        self.nl = eff.nl
        self.announcer = eff.announcer
        self.notifier = Notifier(config)
        self.tracker = Tracker(config, self._tracking_changed)
        self.vmacs = eff.vmacs
        self._socket_pool = eff.socket_pool
        self.clock: Clock = clock or LoopClock()  # an unbound LoopClock: the running loop's
        self.pool: SocketPool | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stopped = asyncio.Event()
        self._stopping = False
        self._started = False
        self._delayed_start: Timer | None = None
        self._promote_saved: dict[str, str] = {}  # interface -> promote_secondaries before us
        self.lateness_max = 0.0
        self.lateness_sum = 0.0
        self.lateness_n = 0
        self.lateness_recent: deque[float] = deque(maxlen=256)
        self.links: dict[int, str] = {}
        self._assigned: dict[str, set[IPAddr]] = {}  # -D's "Assigned address" per interface
        # called (instance, state) at every transition: the daemon pushes it to the checker
        self.on_state: Callable[[str, str], None] | None = None

    # ================================================================== life cycle
    async def run(self) -> None:
        """Start (unless started already), then wait until stop() has finished."""
        if self.loop is None:  # start() not called yet
            await self.start()
        await self._stopped.wait()

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        if isinstance(self.clock, LoopClock) and self.clock.loop is None:
            self.clock.loop = self.loop
        self.pool = self._socket_pool(self.loop)
        await self.nl.open()
        self.nl.on_link = self._on_link
        self.nl.on_addr_del = self._on_addr_del
        await self.nl.start_monitor()
        for li in await self.nl.links():
            self.links[li.index] = li.name
            self.tracker.status.interfaces[li.name] = li.up
        self.tracker.start()
        self._build_groups()
        for inst in self.config.vrrp_instances:
            await self._add_instance(inst)
        # keepalived's parent says "Startup complete", not this child
        delay = self.config.global_defs.vrrp_startup_delay
        if delay > 0:  # vrrp_startup_delay: instances stay in INIT, silent, until it expires
            log.info("Delaying startup for %g seconds", delay)
            self._delayed_start = self.clock.call_later(delay, self._start_all)
        else:
            self._start_all()

    def _start_all(self) -> None:
        self._delayed_start = None
        if self._stopping:
            return
        self._started = True
        for rt in list(self.rts.values()):
            if rt.st.state is fsm.State.INIT:  # a reload during the delay may have started it
                self._start_instance(rt)

    async def stop(self) -> None:
        """Graceful stop: priority-0 adverts, VIPs removed (unless kept), notify STOP."""
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        if self._delayed_start is not None:
            self._delayed_start.cancel()
        for rt in list(self.rts.values()):
            self._feed(rt, fsm.Shutdown())
        for rt in list(self.rts.values()):
            await self._finish_worker(rt)
        await self.tracker.stop()
        await self.notifier.drain(5.0)
        self._restore_promote_secondaries()
        self._teardown()
        if self.vmacs.links:  # no macvlan made: no pyroute2 to import for it
            await self.vmacs.remove_all(self.nl.ipr)
        await self.nl.close()
        self._stopped.set()  # the process logs "Stopped" (with its CPU time under -D)

    async def _finish_worker(self, rt: Runtime, timeout: float = 5.0) -> None:
        if rt.timer is not None:
            rt.timer.cancel()
            rt.timer = None
        if rt.worker is not None:
            rt.queue.put_nowait(("exit",))
            try:
                await asyncio.wait_for(rt.worker, timeout)
            except (TimeoutError, asyncio.CancelledError, Exception):
                rt.worker.cancel()
        self.announcer.cancel(rt.name)

    def _teardown(self) -> None:
        self.announcer.close()
        if self.pool is not None:
            self.pool.close()
        self.notifier.close()

    # ================================================================== instances
    async def _resolve(self, inst: VrrpInstance) -> tuple[str, int, str, IPAddr | None]:
        """(ifname, ifindex, MAC, our source address) for an instance."""
        ifname = inst.interface
        if ifname is None and inst.unicast_src_ip is not None:
            for li in await self.nl.links():
                addrs = await self.nl.addresses(li.index, inst.family)
                if any(a == inst.unicast_src_ip for a, *_ in addrs):
                    ifname = li.name
                    break
        ifname = ifname or self.config.global_defs.default_interface
        li = await self.nl.link(ifname)
        if li is None:
            raise RuntimeError(f"({inst.name}) interface {ifname} does not exist")
        src: IPAddr | None = inst.unicast_src_ip or inst.mcast_src_ip
        if src is None:
            src = await self.nl.primary_address(li.index, inst.family)
            waited = 0.0
            while src is None and inst.family == 6 and waited < LL_WAIT:
                await asyncio.sleep(0.1)
                waited += 0.1
                src = await self.nl.primary_address(li.index, inst.family)
        await self._log_assigned(li.index, ifname)
        return ifname, li.index, li.mac, src

    async def _log_assigned(self, index: int, ifname: str) -> None:
        """-D: keepalived's "Assigned address" for the interface's primary IPv4 and IPv6
        addresses, once per interface at start and at each reload."""
        if not log.isEnabledFor(DETAIL) or ifname in self._assigned:
            return
        self._assigned[ifname] = set()
        for fam in (4, 6):
            a = await self.nl.primary_address(index, fam)
            if a is not None:
                self._assigned[ifname].add(a)
                log.log(DETAIL, "Assigned address %s for interface %s", a, ifname)

    async def _add_vmac(self, inst: VrrpInstance, ifname: str, ifindex: int, mac: str,
                        src: IPAddr | None) -> VmacLink:
        """use_vmac: the instance then lives on the macvlan (VIPs, GARPs, adverts)."""
        lladdr = src if isinstance(src, IPv6Address) else None
        v6_vips = any(v.family == 6 and (v.dev or ifname) == ifname for v in
                      list(inst.virtual_ipaddress) + list(inst.virtual_ipaddress_excluded))
        return await self.vmacs.ensure(
            self.nl.ipr, instance=inst.name,
            name=vmac_name(inst.virtual_router_id, inst.family, inst.use_vmac),
            vrid=inst.virtual_router_id, family=inst.family, base=ifname, base_index=ifindex,
            base_mac=mac, lladdr=lladdr, ipv6_on_vmac=v6_vips)

    async def _add_instance(self, inst: VrrpInstance) -> Runtime:
        ifname, ifindex, mac, src = await self._resolve(inst)
        vm = None
        if inst.use_vmac:
            vm = await self._add_vmac(inst, ifname, ifindex, mac, src)
            ifname, ifindex, mac = vm.name, vm.index, vm.mac
            if src is None and vm.lladdr is not None:
                src = vm.lladdr
        if inst.promote_secondaries and vm is None and inst.family == 4:
            self._promote_secondaries(ifname)
        dsts = self._dsts(inst)
        rt = Runtime(cfg=inst, st=fsm.initial_state(fsm_config(inst, src)), ifname=ifname,
                     ifindex=ifindex, mac=mac, src=src, dsts=dsts, expect=build_expect(inst),
                     vmac=vm)
        self._attach_socket(rt)
        self.announcer.prepare({self._vip_dev(rt, v) for v in rt.all_vips()})
        self.rts[inst.name] = rt
        rt.worker = asyncio.get_running_loop().create_task(self._worker(rt))
        if self.options.remove_stale_vips:
            log.log(DETAIL, "(%s) removing VIPs.", rt.name)
            for vip in rt.all_vips():
                await self.nl.del_vip(vip, self._vip_index(rt, vip))
        return rt

    @staticmethod
    def _promote_path(ifname: str) -> str:
        return f"/proc/sys/net/ipv4/conf/{ifname}/promote_secondaries"

    def _promote_secondaries(self, ifname: str) -> None:
        """promote_secondaries: removing one address of a subnet keeps the others (as
        keepalived: set while we run, the old value put back at stop)."""
        if ifname in self._promote_saved:
            return
        path = self._promote_path(ifname)
        try:
            with open(path, encoding="ascii") as f:
                old = f.read().strip()
            if old != "1":
                with open(path, "w", encoding="ascii") as f:
                    f.write("1")
            self._promote_saved[ifname] = old
        except OSError as e:
            log.warning("cannot set promote_secondaries on %s: %s", ifname, e)

    def _restore_promote_secondaries(self) -> None:
        for ifname, old in self._promote_saved.items():
            if old == "1":
                continue
            try:
                with open(self._promote_path(ifname), "w", encoding="ascii") as f:
                    f.write(old)
            except OSError as e:
                log.warning("cannot restore promote_secondaries on %s: %s", ifname, e)
        self._promote_saved.clear()

    def _attach_socket(self, rt: Runtime) -> None:
        assert self.pool is not None
        if rt.sock is not None:
            rt.sock.unregister(rt.cfg.virtual_router_id, rt.handler)
        proto = IPPROTO_AH if rt.expect.auth_type == codec.AuthType.AH else IPPROTO_VRRP
        sock = self.pool.get(rt.xmit_ifname, rt.cfg.family, proto)
        if not rt.cfg.unicast_peer:
            sock.join(rt.dsts[0])

        def handler(pkt: RxPacket, rt: Runtime = rt) -> None:
            self._on_packet(rt, pkt)

        sock.register(rt.cfg.virtual_router_id, handler)
        rt.sock, rt.handler = sock, handler

    def _start_instance(self, rt: Runtime) -> None:
        """Apply initial tracking (faults before Startup so we start in FAULT), then Startup."""
        self._apply_tracking(rt, initial=True)
        if rt.src is None:
            log.error("(%s) no source address on %s - FAULT", rt.name, rt.ifname)
            self._feed(rt, fsm.FaultSet(NO_SOURCE_FAULT))
        self._feed(rt, fsm.Startup())

    @staticmethod
    def _vip_dev(rt: Runtime, vip: VirtualIP) -> str:
        """The VIP's interface; with use_vmac, VIPs of the base interface (the config gives
        every VIP without 'dev' the instance's interface) live on the macvlan instead."""
        dev = vip.dev or rt.ifname
        if rt.vmac is not None and dev == rt.vmac.base:
            return rt.ifname
        return dev

    def _vip_index(self, rt: Runtime, vip: VirtualIP) -> int:
        dev = self._vip_dev(rt, vip)
        if dev == rt.ifname:
            return rt.ifindex
        try:
            return socket.if_nametoindex(dev)
        except OSError:
            return rt.ifindex

    # ================================================================== FSM driving
    def _feed(self, rt: Runtime, event: fsm.Event, at: float | None = None) -> None:
        """``at``: when the event happened (an advert's kernel receive time), if earlier."""
        old = rt.st
        now = self.clock.time()
        new, actions = fsm.step(old, event, at if at is not None and at <= now else now)
        rt.st = new
        if isinstance(event, fsm.Tick) and old.state is fsm.State.BACKUP and (
                new.state is fsm.State.MASTER or (new.want_master and not old.want_master)):
            # the failover path: advert, VIPs and the first GARPs go out before the log lines
            # are written (they keep their order and time)
            with deferred():
                later(log, DETAIL, "(%s) Receive advertisement timeout", rt.name)
                for a in actions:
                    self._apply(rt, old, a, fast=True)
        else:
            for a in actions:
                self._apply(rt, old, a)
        self._arm(rt)
        if rt.cfg.sync_group and rt.cfg.sync_group in self.groups:
            self._reconcile(rt.cfg.sync_group)

    def _arm(self, rt: Runtime) -> None:
        if rt.timer is not None:
            rt.timer.cancel()
            rt.timer = None
        when = fsm.next_deadline(rt.st)
        if when is not None and not self._stopping:
            # epoll rounds every timeout up to whole ms and the kernel lets it wake up to
            # 0.1 % late (3.6 ms on a 3.6 s master-down interval): the failover-critical
            # master-down timer (BACKUP; it fires rarely) is armed that much early and the
            # rest waited precisely, watching the instance's socket
            # (the take-over's advert is encoded ahead by _rehearse, in the precise stage)
            early = 0.0
            if rt.st.state is fsm.State.BACKUP:
                early = PRECISE + max(0.0, when - self.clock.time()) * COARSE_SLACK
            rt.timer = self.clock.call_at(when - early, self._tick, rt, when, early)

    def _tick(self, rt: Runtime, when: float, early: float = 0.0) -> None:
        rest = when - self.clock.time()
        if rest > PRECISE and early > PRECISE:
            # the coarse wake-up of a long wait: a short, precise one follows
            rt.timer = self.clock.call_at(when - PRECISE, self._tick, rt, when, PRECISE)
            return
        if 0 < rest <= early:
            if rt.st.state is fsm.State.BACKUP:
                self._rehearse(rt, when)
                rest = when - self.clock.time()
            fds = [rt.sock.sock.fileno()] if rt.sock is not None else []
            if rest > 0 and self.clock.wait_readable(fds, rest):
                # an advert may have come: the loop reads it first, then we look again
                rt.timer = self.clock.call_at(self.clock.time(), self._tick, rt, when, early)
                return
        late = self.clock.time() - when
        self.lateness_max = max(self.lateness_max, late)
        self.lateness_sum += late
        self.lateness_n += 1
        self.lateness_recent.append(late)
        rt.timer = None
        if self.rts.get(rt.name) is rt:
            self._feed(rt, fsm.Tick())

    def _rehearse(self, rt: Runtime, when: float) -> None:
        """A dry run of the take-over's pure steps, ~2 ms before the master-down timer fires.

        After seconds of idling the VM's caches are cold and the same Python path runs several
        times slower (measured: 0.2-0.5 ms each for the advert and the VIP request, vs µs
        warm); rehearsing it just before the deadline makes the real one run warm. Nothing is
        sent and nothing changes: fsm.step is a pure function, the encoders too."""
        try:
            fsm.step(rt.st, fsm.Tick(), when)
            if rt.src is not None and rt.cfg.family == 4:
                for dst in rt.dsts:
                    codec.build_ipv4(rt.src, dst, self._advert_msg(rt, rt.st.priority, dst),
                                     ident=rt.ip_id, ttl=codec.VRRP_TTL)
            vips = rt.all_vips()
            for vip in vips:
                self.nl.rehearse_vip(vip, self._vip_index(rt, vip))
            self.announcer.frames(self._announce_list(rt, vips))
        except Exception:  # a rehearsal must never cost the take-over itself
            log.debug("(%s) take-over rehearsal failed", rt.name, exc_info=True)

    def _apply(self, rt: Runtime, old: fsm.InstanceState, a: fsm.Action,
               fast: bool = False) -> None:
        """``fast``: VIPs and the first GARP burst are done now, synchronously, when the
        instance's worker has nothing queued (else they queue behind it, in order)."""
        match a:
            case fsm.SendAdvert(priority=prio):
                self._send_advert(rt, prio)
            case fsm.AddVips() if fast and rt.idle():
                self._set_vips_now(rt)
            case fsm.AddVips():
                rt.queue.put_nowait(("add",))
            case fsm.Announce(reason=reason) if fast and rt.idle():
                try:
                    self._announce(rt, reason)
                except Exception:
                    log.exception("(%s) announcement failed", rt.name)
            case fsm.DelVips():
                if not (self._stopping and not self.options.release_vips_on_exit):
                    rt.queue.put_nowait(("del",))
            case fsm.Announce(reason=reason):
                rt.queue.put_nowait(("announce", reason))
            case fsm.Notify(state=state, priority=prio):
                self._on_state(rt, old, state, prio)
            case fsm.RequestMaster():
                pass  # the sync group reconcile looks at want_master

    def _on_state(self, rt: Runtime, old: fsm.InstanceState, state: fsm.State,
                  prio: int) -> None:
        rt.last_transition = self.clock.wall()
        if old.state is fsm.State.MASTER and state is not fsm.State.MASTER:
            rt.counters["release_master"] += 1
            self.announcer.cancel(rt.name)
        if state is fsm.State.MASTER:
            rt.counters["become_master"] += 1
        if state is not fsm.State.STOP:
            # keepalived: "(init)" on BACKUP; an address owner (priority 255) goes MASTER by
            # a 1 us backup timeout: its (-D) timeout line and no "(init)"
            init = " (init)" if old.state is fsm.State.INIT else ""
            if init and state is fsm.State.MASTER:
                init = ""
                later(log, DETAIL, "(%s) Receive advertisement timeout", rt.name)
            log.info("(%s) Entering %s STATE%s", rt.name, state.value, init)
        self.notifier.instance(rt.cfg, state.value, prio)
        if self.on_state is not None:
            try:
                self.on_state(rt.name, state.value)
            except Exception:
                log.exception("(%s) state push failed", rt.name)

    # ================================================================== sending
    def _send_advert(self, rt: Runtime, prio: int) -> None:
        inst = rt.cfg
        if rt.src is None or rt.sock is None:
            return
        at = rt.expect.auth_type
        for dst in rt.dsts:
            try:
                vrrp = self._advert_msg(rt, prio, dst)
                if inst.family == 4:
                    rt.ip_id = (rt.ip_id % 0xFFFF) + 1
                    ttl = inst.unicast_ttl if inst.unicast_peer else codec.VRRP_TTL
                    if at == codec.AuthType.AH:
                        rt.ah_seq += 1
                        pkt = codec.build_ipv4_ah(rt.src, dst, vrrp, key=rt.expect.auth_key,
                                                  seq=rt.ah_seq, ident=rt.ip_id, ttl=ttl,
                                                  zero_ttl=bool(inst.unicast_peer))
                    else:
                        pkt = codec.build_ipv4(rt.src, dst, vrrp, ident=rt.ip_id, ttl=ttl)
                    rt.sock.send4(pkt, dst)  # type: ignore[arg-type]
                else:
                    rt.sock.send6(vrrp, rt.src, dst)  # type: ignore[arg-type]
            except OSError as e:
                rt.counters["send_error"] += 1
                if rt.counters["send_error"] < 10 or rt.counters["send_error"] % 100 == 0:
                    log.warning("(%s) send advert to %s failed: %s", rt.name, dst, e)
                continue
            rt.counters["advert_sent"] += 1
            if prio == 0:
                rt.counters["pri_zero_sent"] += 1
        if prio == 0:
            log.log(DETAIL, "(%s) sent 0 priority", rt.name)

    @staticmethod
    def _advert_msg(rt: Runtime, prio: int, dst: IPAddr) -> bytes:
        """The VRRP message (no IP header), cached: it depends only on the instance's config,
        source address, priority and destination, and encoding it is the slowest step
        between the master-down timer and the advert on the wire."""
        key = (rt.cfg, rt.src)
        if rt.adv_key is None or rt.adv_key[0] is not key[0] or rt.adv_key[1] != key[1]:
            rt.adv_cache.clear()
            rt.adv_key = key
        msg = rt.adv_cache.get((prio, dst))
        if msg is None:
            inst, at = rt.cfg, rt.expect.auth_type
            msg = codec.encode_advert(
                version=inst.version, vrid=inst.virtual_router_id, priority=prio,
                adver_int=rt.expect.adver_int, addresses=[v.address.ip for v in rt.advertised()],
                auth_type=at,
                auth_data=inst.auth_pass or "" if at == codec.AuthType.PASS else b"",
                src=rt.src, dst=dst, v3_checksum_as_v2=inst.v3_checksum_as_v2,
                family=inst.family)
            if len(rt.adv_cache) < 64:
                rt.adv_cache[(prio, dst)] = msg
        return msg

    # ================================================================== receiving
    def _on_packet(self, rt: Runtime, pkt: RxPacket) -> None:
        inst = rt.cfg
        if pkt.family == 4:
            if rt.src is not None and pkt.data[12:16] == rt.src.packed:
                return  # our own advert
            res = codec.validate_ipv4(pkt.data, rt.expect, ah_last_seq=rt.ah_rx_seq)
        else:
            if pkt.src is None or pkt.src == rt.src:
                return
            dst = pkt.dst or rt.dsts[0]
            res = codec.validate_ipv6(pkt.data, rt.expect, src=pkt.src, dst=dst,
                                      hop_limit=pkt.hop_limit, verify_checksum=False)
        if isinstance(res, codec.Dropped):
            if res.reason not in ADDR_MISMATCH:
                self._dropped(rt, res)
                return
            res = self._addr_mismatch(rt, pkt, res)
            if isinstance(res, codec.Dropped):
                self._dropped(rt, res)
                return
        if inst.owner_ignore_adverts:  # only ever set on an address owner (priority 255)
            self._dropped(rt, codec.Dropped(
                codec.DropReason.OWNER_IGNORE,
                f"Dropping packet(s) from {res.src} since we are address owner"))
            return
        if inst.check_unicast_src and inst.unicast_peer and \
                res.src not in {p.address for p in inst.unicast_peer}:
            self._dropped(rt, codec.Dropped(codec.DropReason.ADDRESS_LIST,
                                            f"unicast source {res.src} is not a peer"))
            return
        if res.ah_seq is not None:
            rt.ah_rx_seq = res.ah_seq
        adv = res.advert
        rt.counters["advert_rcvd"] += 1
        if adv.priority == 0:
            rt.counters["pri_zero_rcvd"] += 1
        rt.last_src, rt.last_prio, rt.last_time = res.src, adv.priority, self.clock.wall()
        self._log_rx(rt, res.src, adv.priority)
        ival = adv.adver_int / 100 if adv.version == 3 else float(adv.adver_int)
        self._feed(rt, fsm.AdvertReceived(adv.priority, res.src, ival), pkt.rx_time)

    def _log_rx(self, rt: Runtime, src: IPAddr, prio: int) -> None:
        note = rx_note(rt.st, src, prio)
        if note is None:
            return
        if note.fmt:
            log.log(note.level, note.fmt, rt.name, *note.args)
        if note.notify_lower:
            self.notifier.master_rx_lower_pri(rt.cfg, rt.st.priority)

    def _addr_mismatch(self, rt: Runtime, pkt: RxPacket, d: codec.Dropped) -> codec.RxResult:
        """keepalived 2.3.3: an advert whose VIP list differs from ours is still accepted
        (counted in addr_list_err, logged with a rate limit), so that a pair with one VIP
        more on one side never ends with two MASTERs. Checks the rest of it again."""
        rt.counters["addr_list_err"] += 1
        rt.counters[f"addr_mismatch_{d.reason.slug}"] += 1
        self._rate_log(rt, f"mismatch_{d.reason.slug}", f"{d.detail or d.reason.slug} - "
                       "accepting the advert (as keepalived 2.3.3 does)")
        loose = replace(rt.expect, check_addresses=False)
        if pkt.family == 4:
            return codec.validate_ipv4(pkt.data, loose, ah_last_seq=rt.ah_rx_seq)
        assert pkt.src is not None
        return codec.validate_ipv6(pkt.data, loose, src=pkt.src, dst=pkt.dst or rt.dsts[0],
                                   hop_limit=pkt.hop_limit, verify_checksum=False)

    def _rate_log(self, rt: Runtime, slug: str, text: str) -> None:
        now = self.clock.time()
        last, suppressed = rt.drop_log.get(slug, (-1e9, 0))
        if now - last >= DROP_LOG_INTERVAL:
            more = f" ({suppressed} more suppressed)" if suppressed else ""
            log.info("(%s) %s%s", rt.name, text, more)
            rt.drop_log[slug] = (now, 0)
        else:
            rt.drop_log[slug] = (last, suppressed + 1)

    def _dropped(self, rt: Runtime, d: codec.Dropped) -> None:
        r = d.reason
        rt.counters[r.drop_key] += 1
        if r.counter:
            rt.counters[r.counter] += 1
        if r.counts_as_received:
            rt.counters["advert_rcvd"] += 1
        self._rate_log(rt, r.slug, d.detail or r.slug)

    # ================================================================== VIP worker
    async def _worker(self, rt: Runtime) -> None:
        """Serialises VIP/route changes and announcements of one instance."""
        while True:
            op = await rt.queue.get()
            rt.busy = True
            try:
                if op[0] == "exit":
                    return
                if op[0] == "add":
                    await self._set_vips(rt)
                elif op[0] == "routes":
                    if rt.vips_set:
                        await self._set_routes(rt)
                elif op[0] == "del":
                    await self._clear_vips(rt)
                elif op[0] == "announce":
                    self._announce(rt, op[1])
                elif op[0] == "restore":
                    vip = op[1]
                    if rt.vips_set and rt.st.state is fsm.State.MASTER and \
                            vip in rt.all_vips():
                        await self.nl.add_vip(vip, self._vip_index(rt, vip))
                        self.announcer.start(rt.name + ":restore", self._announce_list(
                            rt, [vip]), self._schedule(rt, fsm.AnnounceReason.LOWER_PRIO))
                elif op[0] == "sync":
                    await self._sync_vips(rt, op[1])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("(%s) VIP operation %s failed", rt.name, op[0])
            finally:
                rt.busy = False

    def _add_addresses(self, rt: Runtime) -> None:
        """The VIPs, one synchronous rtnetlink request each (the kernel answers in µs)."""
        later(log, DETAIL, "(%s) setting VIPs.", rt.name)
        rt.vips_set = True
        for vip in rt.all_vips():
            self.nl.add_vip_now(vip, self._vip_index(rt, vip))

    def _set_vips_now(self, rt: Runtime) -> None:
        """The addresses now; routes and rules, which go through `ip`, follow in the worker.
        Never raises: the caller is a timer callback whose re-arming must not be skipped."""
        try:
            self._add_addresses(rt)
        except Exception:
            log.exception("(%s) VIP operation add failed", rt.name)
        if rt.cfg.virtual_routes or rt.cfg.virtual_rules:
            rt.queue.put_nowait(("routes",))

    async def _set_routes(self, rt: Runtime) -> None:
        for r in rt.cfg.virtual_routes:
            await self.nl.ip_cmd("route", "replace", r)
        for r in rt.cfg.virtual_rules:
            await self.nl.ip_cmd("rule", "add", r)

    async def _set_vips(self, rt: Runtime) -> None:
        self._add_addresses(rt)
        await self._set_routes(rt)

    async def _clear_vips(self, rt: Runtime) -> None:
        if not rt.vips_set:
            return
        log.log(DETAIL, "(%s) removing VIPs.", rt.name)
        rt.vips_set = False
        for r in rt.cfg.virtual_rules:
            await self.nl.ip_cmd("rule", "del", r)
        for r in rt.cfg.virtual_routes:
            await self.nl.ip_cmd("route", "del", r)
        for vip in rt.all_vips():
            await self.nl.del_vip(vip, self._vip_index(rt, vip))

    async def _sync_vips(self, rt: Runtime, d: reload_plan.SyncAddresses) -> None:
        """Reload while MASTER: remove dropped VIPs, add new ones, announce once; addresses
        that stayed are never touched (no Deleted event, no gap)."""
        if not rt.vips_set:
            return
        for r in d.del_rules:
            await self.nl.ip_cmd("rule", "del", r)
        for r in d.del_routes:
            await self.nl.ip_cmd("route", "del", r)
        for vip in d.del_vips:
            log.info("(%s) ip address %s, no longer exist", rt.name, vip_str(vip, rt.ifname))
            await self.nl.del_vip(vip, self._vip_index(rt, vip))
        for vip in d.add_vips:
            await self.nl.add_vip(vip, self._vip_index(rt, vip))
        for r in d.add_routes:
            await self.nl.ip_cmd("route", "replace", r)
        for r in d.add_rules:
            await self.nl.ip_cmd("rule", "add", r)
        if d.announce:
            sch = replace(self._schedule(rt, fsm.AnnounceReason.BECOME_MASTER), delay=0,
                          refresh=0)
            self.announcer.start(rt.name, self._announce_list(rt, rt.all_vips()), sch)

    def _schedule(self, rt: Runtime, reason: fsm.AnnounceReason) -> Schedule:
        c = rt.cfg
        if reason is fsm.AnnounceReason.LOWER_PRIO:
            return Schedule(c.garp_lower_prio_repeat, c.garp_lower_prio_delay, 0.0, 1,
                            c.garp_interval, c.gna_interval)
        return Schedule(c.garp_master_repeat, c.garp_master_delay, c.garp_master_refresh,
                        c.garp_master_refresh_repeat, c.garp_interval, c.gna_interval)

    def _announce_list(self, rt: Runtime, vips: list[VirtualIP]
                       ) -> list[tuple[VirtualIP, str, str]]:
        out = []
        for v in vips:
            dev = self._vip_dev(rt, v)
            mac = rt.mac if dev == rt.ifname else self._mac_of(dev) or rt.mac
            out.append((v, dev, mac))
        return out

    @staticmethod
    def _mac_of(ifname: str) -> str | None:
        try:
            with open(f"/sys/class/net/{ifname}/address") as f:
                return f.read().strip()
        except OSError:
            return None

    def _announce(self, rt: Runtime, reason: fsm.AnnounceReason) -> None:
        if rt.st.state is not fsm.State.MASTER:
            return
        self.announcer.start(rt.name, self._announce_list(rt, rt.all_vips()),
                             self._schedule(rt, reason))

    # ================================================================== netlink events
    def _on_link(self, index: int, name: str, up: bool) -> None:
        name = name or self.links.get(index, "")
        if not name:
            return
        self.links[index] = name
        prev = self.tracker.status.interfaces.get(name)
        if prev is not up:
            log.info("Netlink reports %s %s", name, "up" if up else "down")
        self.tracker.set_interface(name, up)

    def _on_addr_del(self, index: int, addr: IPAddr, plen: int) -> None:
        ifname = self.links.get(index, "")
        if addr in self._assigned.get(ifname, ()):
            self._assigned[ifname].discard(addr)
            log.log(DETAIL, "Deassigned address %s from interface %s", addr, ifname)
        for rt in self.rts.values():
            if not rt.vips_set or rt.st.state is not fsm.State.MASTER:
                continue
            for vip in rt.all_vips():
                if vip.address.ip == addr and self._vip_index(rt, vip) == index:
                    log.info("(%s) VIP %s was removed by someone else - restoring",
                             rt.name, vip_str(vip, rt.ifname))
                    rt.queue.put_nowait(("restore", vip))

    # ================================================================== tracking
    def _tracking_changed(self) -> None:
        for rt in list(self.rts.values()):
            if rt.st.state is not fsm.State.INIT:
                self._apply_tracking(rt)

    def _apply_tracking(self, rt: Runtime, initial: bool = False) -> None:
        prio, faults, events = tracking_events(rt.cfg, self.config, self.tracker.status,
                                               rt.applied_prio, rt.applied_faults)
        for ev in events:
            if isinstance(ev, fsm.PriorityChanged) and not initial:
                log.info("(%s) Changing effective priority from %d to %d", rt.name,
                         rt.st.priority, fsm.clamp_priority(prio))
            self._feed(rt, ev)
        rt.applied_prio = prio
        rt.applied_faults = faults

    # ================================================================== sync groups
    def _build_groups(self) -> None:
        old = self.groups
        self.groups = {}
        if self.config.sync_groups:
            from pykeepalived.vrrp.sync_group import SyncGroup
        for g in self.config.sync_groups:
            prev = old.get(g.name)
            self.groups[g.name] = SyncGroup(g.name, g.group, prev.state if prev else
                                            fsm.State.INIT)

    def _group_cfg(self, name: str) -> VrrpSyncGroup | None:
        return next((g for g in self.config.sync_groups if g.name == name), None)

    def _reconcile(self, name: str) -> None:
        from pykeepalived.vrrp.sync_group import reconcile

        for _ in range(5):  # fixpoint in <= 2 rounds; bounded anyway
            grp = self.groups[name]
            if any(m not in self.rts for m in grp.members):
                return
            members = {m: self.rts[m].st for m in grp.members}
            new, events, notes = reconcile(grp, members)
            self.groups[name] = new
            for n in notes:
                gc = self._group_cfg(n.group)
                log.info("VRRP_Group(%s) Syncing instances to %s state", n.group, n.state.value)
                if gc is not None:
                    self.notifier.group(gc, n.state.value)
            if not events:
                return
            for member, ev in events:
                rt = self.rts[member]
                old = rt.st
                st, actions = fsm.step(old, ev, self.clock.time())
                rt.st = st
                for a in actions:
                    self._apply(rt, old, a)
                self._arm(rt)

    # ================================================================== reload
    async def reload(self, new_config: Config) -> None:
        """Apply a new config without flapping: reload_plan decides, this applies."""
        from pykeepalived.vrrp import reload_plan

        running = {n: reload_plan.Running(n, rt.cfg, rt.st.state, rt.vips_set)
                   for n, rt in self.rts.items()}
        plan = reload_plan.plan(self.config, new_config, running)
        log.info("Reloading")
        old_rts = dict(self.rts)
        self.config = new_config
        self.notifier.update_config(new_config)
        self.tracker.reload(new_config)
        self._build_groups()
        new_rts: dict[str, Runtime] = {}
        created: list[Runtime] = []
        removed: list[Runtime] = []
        for a in plan.actions:
            match a:
                case reload_plan.KeepInstance():
                    rt = old_rts[a.old_name]
                    if a.changed:
                        self._reconfigure(rt, a)
                    new_rts[a.new.name] = rt
                case reload_plan.SyncAddresses():
                    new_rts[a.name].queue.put_nowait(("sync", a))
                case reload_plan.RemoveInstance():
                    rt = old_rts[a.name]
                    self._feed(rt, fsm.Shutdown())
                    if rt.sock is not None:
                        rt.sock.unregister(rt.cfg.virtual_router_id, rt.handler)
                    await self._finish_worker(rt)
                    removed.append(rt)
                case reload_plan.AddInstance():
                    rt = await self._add_instance(a.inst)
                    new_rts[a.inst.name] = rt
                    created.append(rt)
        self.rts = new_rts
        assert self.pool is not None
        self.pool.release_unused()
        for rt in removed:
            if rt.vmac is not None:
                await self.vmacs.remove(self.nl.ipr, rt.name)
        for rt in created:
            self._start_instance(rt)
        for rt in new_rts.values():
            if rt not in created:
                self._apply_tracking(rt)
                self._arm(rt)
        self._assigned.clear()  # keepalived logs the interfaces' addresses again
        for rt in new_rts.values():
            await self._log_assigned(rt.ifindex, rt.ifname)

    def _reconfigure(self, rt: Runtime, a: reload_plan.KeepInstance) -> None:
        """A kept instance whose config changed: new expectations, FSM config and (when its
        socket keys changed) socket registration; state, FAULT and counters stay."""
        from pykeepalived.vrrp import reload_plan

        inst = a.new
        old_prio = rt.cfg.priority
        if inst.name != rt.name and rt.vmac is not None and rt.name in self.vmacs.links:
            self.vmacs.links[inst.name] = self.vmacs.links.pop(rt.name)
        rt.cfg = inst
        rt.expect = build_expect(inst)
        dsts, rt.dsts = rt.dsts, self._dsts(inst)
        rt.src = inst.unicast_src_ip or inst.mcast_src_ip or rt.src
        rt.st = reload_plan.carry_state(rt.st, fsm_config(inst, rt.src))
        if inst.priority != old_prio:
            rt.applied_prio = None  # tracking is re-applied on the new base priority
        if a.socket_changed or dsts != rt.dsts:
            self._attach_socket(rt)

    def _dsts(self, inst: VrrpInstance) -> tuple[IPAddr, ...]:
        """Where adverts go: the unicast peers, else the (configured) multicast group."""
        if inst.unicast_peer:
            return tuple(p.address for p in inst.unicast_peer)
        if inst.mcast_dst_ip is not None:
            return (inst.mcast_dst_ip,)
        g = self.config.global_defs
        return (g.vrrp_mcast_group4 if inst.family == 4 else g.vrrp_mcast_group6,)

    # ================================================================== status
    def clear_stats(self) -> None:
        """keepalived's STATS_CLEAR signal: the file is written first, then counters zeroed."""
        for rt in self.rts.values():
            rt.counters.clear()

    def snapshot(self) -> dict[str, Any]:
        """The published form (state file, dumps) of typed_snapshot()."""
        return self.typed_snapshot().to_dict()

    def typed_snapshot(self) -> VrrpSnapshot:
        """Per-instance state, priority, counters, VIPs; groups, scripts, loop, sockets."""
        from pykeepalived.vrrp.snapshot import (
            AdvertSeen,
            GroupSnapshot,
            InstanceSnapshot,
            LoopSnapshot,
            SocketSnapshot,
            SockpoolEntry,
            VrrpSnapshot,
        )

        insts = []
        for name, rt in self.rts.items():
            st = rt.st
            insts.append(InstanceSnapshot(
                name=name, state=st.state.value, vrid=rt.cfg.virtual_router_id,
                version=rt.cfg.version, family=rt.cfg.family, interface=rt.ifname,
                source=str(rt.src) if rt.src else None, base_priority=st.base_priority,
                effective_priority=st.priority,
                master_address=str(st.master_address) if st.master_address else None,
                master_priority=st.master_priority,
                last_advert=AdvertSeen(str(rt.last_src) if rt.last_src else None,
                                       rt.last_prio, rt.last_time),
                last_transition=rt.last_transition, faults=tuple(sorted(st.faults)),
                vips=tuple(vip_str(v, rt.ifname) + (" set" if rt.vips_set else "")
                           for v in rt.all_vips()),
                vips_set=rt.vips_set, counters=dict(rt.counters),
                garp_sent=self.announcer.sent.get(name, 0),
                # one raw socket both reads and sends (keepalived has two): fd_in == fd_out
                fds=(rt.sock.sock.fileno(),) * 2 if rt.sock is not None else None))
        n = self.lateness_n or 1
        pool, socks = None, None
        if self.pool is not None:
            # keepalived.data's "VRRP Sockpool": which instances share which socket
            pool = tuple(SockpoolEntry(
                s.sock.fileno(), k[0], k[1], k[2],
                bool(users) and all(rt.cfg.unicast_peer for rt in users),
                tuple((rt.cfg.name, rt.cfg.virtual_router_id) for rt in users))
                for k, s in self.pool.sockets.items()
                for users in [[rt for rt in self.rts.values() if rt.sock is s]])
            socks = {f"{k[0]}/v{k[1]}/{k[2]}": SocketSnapshot(
                s.rx_packets, s.unknown_vrid, s.batches_full, s.filtered)
                for k, s in self.pool.sockets.items()}
        return VrrpSnapshot(
            instances=tuple(insts),
            groups=tuple(GroupSnapshot(name, g.state.value, tuple(g.members))
                         for name, g in self.groups.items()),
            scripts=dict(self.tracker.status.scripts),
            scripts_running=tuple(sorted(self.tracker.status.running)),
            loop=LoopSnapshot(self.lateness_max, self.lateness_sum / n, self.lateness_n,
                              max(self.lateness_recent, default=0.0)),
            sockpool=pool, sockets=socks)

