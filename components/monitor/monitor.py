"""The monitor's round: probe every card, move its health, heal what failed, report."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from dataclasses import dataclass, field

import redis

from components.monitor.probes import CheckFn, Prober
from components.monitor.system import SystemSampler
from mobo import defaults
from mobo.contract import Board, Check
from mobo.exceptions import ManifestError, MoboError
from mobo.kernel.config import Config
from mobo.kernel.health import CardHealth, RestartPolicy
from mobo.kernel.provided import provided
from mobo.kernel.registry import Registry
from mobo.kernel.reload import ConfigWatcher
from mobo.kernel.supervisor import Supervisor
from mobo.states import Health

LOGGER = logging.getLogger(__name__)
SELF = "monitor"
UNHEALABLE_EXIT = defaults.EXIT_FATAL  # a configuration error: a restart cannot help


@dataclass
class Tracked:
    """What the monitor knows of one card between rounds."""

    health: CardHealth = field(default_factory=CardHealth)
    policy: RestartPolicy | None = None
    check: Check | None = None
    given_up: str = ""  # the reason the card was left stopped, if it was
    restarts: int = 0


def probe_plan(config: Config, registry: Registry, procs: dict[str, dict]) -> dict[str, int | None]:
    """Return the cards to probe and the pid supervisor runs for each (None: not running).

    Left out: the monitor itself, unplugged cards, programs this board does not load,
    library cards without a probe of their own, and cards an operator stopped (not the
    monitor's business). The `redis` card is probed
    even when idle: it then checks the external Redis the board uses.
    """
    plan = {}
    for name in registry.names:
        if name == SELF or name in config.cards.unplugged:
            continue
        proc = procs.get(name)
        program = registry.get(name).provides.program
        if program and proc is None and name != "redis":
            continue
        if not program and not registry.get(name).provides.health_checks:
            continue  # a library card that declares no check has nothing to check
        if proc is not None and proc["statename"] in ("STOPPED", "STOPPING"):
            continue
        plan[name] = proc["pid"] if proc and proc["statename"] == "RUNNING" else None
    return plan


def card_check(registry: Registry, name: str) -> CheckFn:
    """Return the card's check: its `health_checks` (the first failure, else the last
    result), or the runner's heartbeat when it declares none."""
    try:
        checks = [found.target for found in provided(registry, [name], "health_checks")]
    except ManifestError as exc:  # reported as the card's health, other cards still checked
        reason = str(exc)
        return lambda board, pid: Check(name, False, reason)
    if not checks:
        return registry.load(name).probe
    if len(checks) == 1:
        return checks[0]

    def all_of(board: Board, pid: int | None) -> Check:
        for check in checks:
            result = check(board, pid)
            if not result.ok:
                return result
        return result

    return all_of


class Monitor:
    """Runs rounds of checks on a board until asked to stop."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.watcher = ConfigWatcher(board.config)
        self.registry = Registry.discover()
        self.supervisor = Supervisor(board.config)
        self.prober = Prober(board)
        self.sampler = SystemSampler()
        self.checks: dict[str, CheckFn] = {}
        self.tracked: dict[str, Tracked] = {}
        self._bus_lost = False

    @property
    def config(self):  # type: ignore[no-untyped-def]
        return self.watcher.config

    def serve(self) -> None:
        self.board.ready(detail=f"checking every {self.config.health.interval:g}s")
        while not self.board.wait(self.config.health.interval):
            self.watcher.poll()
            try:
                self.round()
            except MoboError as exc:
                LOGGER.warning("health round skipped: %s", exc)
        self.prober.close()

    # -- one round

    def round(self) -> None:
        procs = self.supervisor.processes()
        targets = self._targets(procs)
        if not self._bus_judgeable():
            # heartbeats live in Redis: while it is away (or just back, before the cards
            # have reported again) only the bus itself can be judged; killing cards for a
            # Redis outage would turn one failure into many
            targets = {n: t for n, t in targets.items() if n == "redis"}
        results = self.prober.run(targets)
        for name, check in results.items():
            self._observe(name, check, procs.get(name))
        for name in targets:
            self._heal(name, procs.get(name))
        self._publish(procs)

    def _targets(self, procs: dict[str, dict]) -> dict[str, tuple[CheckFn, int | None]]:
        """The cards to probe, less those given up on (until an operator starts them)."""
        targets = {}
        for name, pid in probe_plan(self.config, self.registry, procs).items():
            tracked = self.tracked.setdefault(name, Tracked())
            if tracked.given_up and not self._still_given_up(name):
                self.tracked[name] = tracked = Tracked()
            if tracked.given_up:
                continue
            check = self.checks.get(name) or self.checks.setdefault(
                name, card_check(self.registry, name)
            )
            targets[name] = (check, pid)
        return targets

    def _observe(self, name: str, check: Check, proc: dict | None) -> None:
        tracked = self.tracked[name]
        health = self.config.health
        tracked.check = check
        if proc is not None and proc["statename"] == "FATAL":
            tracked.health.failures = max(tracked.health.failures, health.failure_threshold - 1)
        before = tracked.health.state
        new = tracked.health.observe(check.ok, health.failure_threshold, health.recovery_threshold)
        if new is None:
            return
        LOGGER.log(
            logging.INFO if check.ok else logging.WARNING,
            "%s: %s -> %s (%s)",
            name,
            before,
            new,
            check.detail,
        )
        event = tracked.health.event_for(new, before)
        if event:
            self._emit(event, {"card": name, "detail": check.detail, "from": before})
        if new == Health.HEALTHY and tracked.policy:
            tracked.policy.reset()

    # -- healing

    def _heal(self, name: str, proc: dict | None) -> None:
        tracked = self.tracked[name]
        if tracked.health.state != Health.FAILED or proc is None:
            return  # library cards and external services are reported, not restarted
        if proc["statename"] in ("STARTING", "BACKOFF"):
            return  # supervisor is bringing it up right now; judge the result next round
        if proc["statename"] == "EXITED" and proc.get("exitstatus") == UNHEALABLE_EXIT:
            self._give_up(
                name,
                f"configuration error (exit 78): fix it, then `mobo component:start {name}`",
                stop=False,
            )
            return
        policy = tracked.policy or self._policy(tracked)
        decision = policy.decide()
        if not decision.restart and decision.reason:
            self._give_up(name, decision.reason, stop=True)
            return
        if not decision.restart:
            return  # backing off; a later round restarts it
        policy.record()
        tracked.restarts += 1
        reason = tracked.check.detail if tracked.check else "failed"
        LOGGER.warning("restarting %s (attempt %d): %s", name, len(policy.history), reason)
        self._restart(name, proc)
        # judged afresh: it must fail `failure_threshold` rounds again to be restarted again
        tracked.health = CardHealth(state=Health.RECOVERING)
        self._emit(
            "component.restarted",
            {
                "card": name,
                "reason": reason,
                "attempt": len(policy.history),
                "backoff_s": policy.gap(len(policy.history)),
            },
        )

    def _policy(self, tracked: Tracked) -> RestartPolicy:
        h = self.config.health
        tracked.policy = RestartPolicy(
            h.restart_base, h.restart_factor, h.restart_max, h.restart_window
        )
        return tracked.policy

    def _restart(self, name: str, proc: dict) -> None:
        """Kill a hung card's whole process group (supervisor restarts it), or start it."""
        if proc["statename"] in ("RUNNING", "STARTING") and proc["pid"]:
            try:
                os.killpg(proc["pid"], signal.SIGKILL)  # supervisor gives each its own group
            except ProcessLookupError:
                pass
            return
        try:
            self.supervisor.call("startProcess", name, False)
        except MoboError as exc:
            LOGGER.warning("cannot start %s: %s", name, exc)

    def _give_up(self, name: str, reason: str, *, stop: bool) -> None:
        tracked = self.tracked[name]
        if tracked.given_up:
            return
        tracked.given_up = reason
        LOGGER.error("leaving %s stopped: %s", name, reason)
        if stop:
            try:
                self.supervisor.stop(name)
            except MoboError as exc:
                LOGGER.warning("cannot stop %s: %s", name, exc)
        self._emit("system.critical", {"card": name, "reason": reason})

    def _still_given_up(self, name: str) -> bool:
        """An operator's `mobo component:start` clears the mark; honour that."""
        try:
            return bool(self.board.redis.hget(self.board.keys.health(name), "given_up"))
        except redis.RedisError:
            return True

    # -- reporting

    def _publish(self, procs: dict[str, dict]) -> None:
        now = time.time()
        pids = {n: p["pid"] or None for n, p in procs.items()}
        system = self.sampler.sample(pids, self._booted_at())
        rows = {name: self._row(name, t, now) for name, t in self.tracked.items()}
        try:
            pipe = self.board.redis.pipeline(transaction=False)
            for name, row in rows.items():
                pipe.hset(self.board.keys.health(name), mapping=row)
                if not row["given_up"]:
                    pipe.hdel(self.board.keys.health(name), "given_up")
            pipe.hset(
                self.board.keys.health_system,
                mapping={"report": json.dumps(system), "checked_at": f"{now:.3f}"},
            )
            pipe.execute()
            self._bus_back()
        except (redis.RedisError, OSError) as exc:
            self._bus_down(exc)
        self.board.state.update(health={"checked_at": now, "cards": rows, "system": system})

    def _row(self, name: str, tracked: Tracked, now: float) -> dict[str, str]:
        check = tracked.check
        return {
            "state": Health.FAILED if tracked.given_up else tracked.health.state,
            "detail": tracked.given_up or (check.detail if check else ""),
            "latency_ms": f"{check.ms:.1f}" if check else "",
            "checked_at": f"{now:.3f}",
            "failures": str(tracked.health.failures),
            "restarts": str(tracked.restarts),
            "given_up": tracked.given_up,
        }

    def _booted_at(self) -> float | None:
        value = self.board.state.load().get("system", {}).get("booted_at")
        return float(value) if value else None

    def _emit(self, type_: str, data: dict[str, object]) -> None:
        self.board.bus.emit(type_, data)

    def _bus_judgeable(self) -> bool:
        """True when Redis answers and answered last round too."""
        try:
            self.board.redis.ping()
        except (redis.RedisError, OSError) as exc:
            self._bus_down(exc)
            return False
        was_lost = self._bus_lost
        self._bus_back()
        return not was_lost

    def _bus_down(self, exc: BaseException) -> None:
        if not self._bus_lost:
            LOGGER.warning("bus unreachable, health kept in the state file: %s", exc)
        self._bus_lost = True

    def _bus_back(self) -> None:
        if self._bus_lost:
            LOGGER.info("bus reachable again")
        self._bus_lost = False
