"""The boot manager: pre-boot, kernel init, POST, load cards, start services, READY.

Each stage and check is reported to a `BootReporter` (the CLI draws them live with rich;
the benchmark records their times). Any failure raises `BootError` naming the check and a
fix; the board is then left as it was (nothing half-started keeps running).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import redis

from mobo import defaults
from mobo.contract import Card, Check
from mobo.exceptions import BootError, MoboError
from mobo.kernel import supervisor as sv
from mobo.kernel.bootevents import BootEvents
from mobo.kernel.config import Config, RedisSection, load_config
from mobo.kernel.keys import Keys
from mobo.kernel.logger import setup_logging
from mobo.kernel.post import RedisChoice, choose_redis, run_post
from mobo.kernel.redisconn import connect, hmget
from mobo.kernel.registry import Registry
from mobo.kernel.state import StateStore
from mobo.states import CardState, SystemState

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
STAGES = ("pre-boot", "kernel init", "POST", "load cards", "start services", "READY")


class BootReporter(Protocol):
    def stage(self, name: str) -> None: ...
    def check(self, check: Check) -> None: ...
    def stage_done(self, name: str, ms: float) -> None: ...


class SilentReporter:
    """A reporter that records stage times and draws nothing."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.checks: list[Check] = []

    def stage(self, name: str) -> None:
        pass

    def check(self, check: Check) -> None:
        self.checks.append(check)

    def stage_done(self, name: str, ms: float) -> None:
        self.times[name] = ms


@dataclass
class BootResult:
    """What a boot produced."""

    already_running: bool = False
    kernel_ms: float = 0.0
    ready_ms: float = 0.0
    urls: dict[str, str] = field(default_factory=dict)
    cards: list[str] = field(default_factory=list)
    redis_url: str = ""


def plugged_cards(config: Config, registry: Registry) -> list[str]:
    """Return the cards the config plugs in, refusing unknown names in `[cards] unplugged`."""
    for name in config.cards.unplugged:
        registry.get(name)
    return [n for n in registry.names if n not in config.cards.unplugged]


def private_redis_url(config: Config) -> str:
    return f"unix://{config.run_dir / 'redis.sock'}"


def resolved(config: Config, choice: RedisChoice) -> Config:
    """Return the config as the cards will see it: Redis fixed to the chosen URL."""
    return dataclasses.replace(config, redis=RedisSection(url=choice.url))


class BootManager:
    """Boots one board (its home) into supervisord, stage by stage."""

    def __init__(
        self,
        home: Path | None,
        reporter: BootReporter,
        supervisor_factory: Callable[[Config], sv.Supervisor] = sv.Supervisor,
    ) -> None:
        self.home = home
        self.reporter = reporter
        self._supervisor_factory = supervisor_factory
        self._t0 = time.perf_counter()
        self._wall0 = time.time()
        self.events = BootEvents()

    def boot(self, *, foreground: bool = False) -> BootResult:
        """Run the six stages; return once the board is READY (or already running)."""
        try:
            return self._boot(foreground)
        finally:
            self.events.close()

    def _boot(self, foreground: bool) -> BootResult:
        self.events.emit("system.booting", {"stages": list(STAGES)})
        config = self._stage("pre-boot", self._preboot)
        supervisor = self._supervisor_factory(config)
        if supervisor.is_running():
            self.events.discard()
            return BootResult(already_running=True, urls=self._urls(config))
        registry, plugged, cards, choice = self._stage(
            "kernel init", lambda: self._kernel_init(config)
        )
        self.events.attach(resolved(config, choice))
        self._stage("POST", lambda: self._post(config, registry, plugged, cards, choice))
        kernel_ms = self._elapsed()
        config = resolved(config, choice)
        wanted = self._stage("load cards", lambda: self._load(config, registry, plugged, cards))
        daemon = supervisor.start_daemon(foreground=foreground)
        if foreground:
            supervisor.wait_running(defaults.SUPERVISOR_START_TIMEOUT_S)
        try:
            self._stage("start services", lambda: self._start(config, registry, wanted, supervisor))
            result = self._stage("READY", lambda: self._ready(config, wanted, kernel_ms))
        except BaseException:
            self._abort(supervisor, daemon)
            raise
        result.kernel_ms = kernel_ms
        return result

    def _stage(self, name: str, fn: Callable[[], T]) -> T:
        self.reporter.stage(name)
        start = time.perf_counter()
        try:
            out = fn()
        except BootError as exc:
            self._failed(name, exc)
            raise
        except MoboError as exc:
            error = BootError(str(exc), check=name, hint=exc.hint)
            self._failed(name, error)
            raise error from None
        ms = (time.perf_counter() - start) * 1000
        self.reporter.stage_done(name, ms)
        self.events.emit("boot.stage_completed", {"stage": name, "ms": round(ms, 1)})
        return out

    def _failed(self, stage: str, error: BootError) -> None:
        self.events.emit(
            "boot.failed", {"stage": stage, "check": error.check, "message": str(error)}
        )

    def _elapsed(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    def _preboot(self) -> Config:
        config = load_config(self.home)
        sv.ensure_layout(config)
        setup_logging(config.log_dir, "kernel", level=config.log.level)
        return config

    def _kernel_init(
        self, config: Config
    ) -> tuple[Registry, list[str], dict[str, Card], RedisChoice]:
        registry = Registry.discover()
        plugged = plugged_cards(config, registry)
        cards = {name: registry.load(name) for name in plugged}
        choice = choose_redis(config, private_redis_url(config))
        return registry, plugged, cards, choice

    def _post(
        self,
        config: Config,
        registry: Registry,
        plugged: list[str],
        cards: dict[str, Card],
        choice: RedisChoice,
    ) -> None:
        checked = resolved(config, choice)
        for check in run_post(checked, registry, plugged, cards, choice):
            self.reporter.check(check)
            if not check.ok:
                raise BootError(
                    f"POST failed: {check.name}: {check.detail}", check=check.name, hint=check.hint
                )

    def _load(
        self, config: Config, registry: Registry, plugged: list[str], cards: dict[str, Card]
    ) -> list[list[str]]:
        env = {
            defaults.HOME_ENV: str(config.home),
            "MOBO_REDIS_URL": config.redis.url,
            "PYTHONUNBUFFERED": "1",
        }
        sv.clear_programs(config)
        layers = []
        for index, layer in enumerate(registry.layers(plugged)):
            wanted = [
                n for n in layer if cards[n].wanted(config) and registry.get(n).provides.program
            ]
            for name in wanted:
                sv.write_program(config, name, env, priority=100 + index)
            if wanted:
                layers.append(wanted)
        return layers

    def _start(
        self, config: Config, registry: Registry, layers: list[list[str]], supervisor: sv.Supervisor
    ) -> None:
        client = connect(config.redis.url)
        keys = Keys(config.namespace)
        for layer in layers:
            for name in layer:
                _forget(client, keys, name)
                supervisor.start(name)
            for name in layer:
                self._wait_card(config, client, keys, supervisor, name)
                self.reporter.check(Check(f"{name} ready", True))
        # a card reports ready before supervisor's startsecs has passed; READY also means
        # supervisor agrees, so `supervisorctl status` and `mobo status` say the same
        for name in (n for layer in layers for n in layer):
            self._wait_supervised(config, supervisor, name)

    def _wait_card(
        self, config: Config, client: redis.Redis, keys: Keys, supervisor: sv.Supervisor, name: str
    ) -> None:
        deadline = time.monotonic() + defaults.BOOT_CARD_TIMEOUT_S
        while time.monotonic() < deadline:
            state = _reported_state(client, keys, name, since=self._wall0)
            if state == CardState.RUNNING:
                return
            proc = supervisor.processes().get(name, {})
            if proc.get("statename") in ("FATAL", "EXITED", "BACKOFF") or state == CardState.FAILED:
                raise BootError(
                    f"card {name} failed to start ({proc.get('statename')})",
                    check=f"{name} running",
                    hint=_log_hint(config, name),
                )
            time.sleep(defaults.BOOT_POLL_INTERVAL_S)
        raise BootError(
            f"card {name} did not report ready within {defaults.BOOT_CARD_TIMEOUT_S:.0f}s",
            check=f"{name} running",
            hint=_log_hint(config, name),
        )

    def _wait_supervised(self, config: Config, supervisor: sv.Supervisor, name: str) -> None:
        deadline = time.monotonic() + defaults.BOOT_CARD_TIMEOUT_S
        while time.monotonic() < deadline:
            state = supervisor.processes().get(name, {}).get("statename")
            if state == "RUNNING":
                return
            if state in ("FATAL", "EXITED", "BACKOFF", "STOPPED"):
                break
            time.sleep(defaults.BOOT_POLL_INTERVAL_S)
        raise BootError(
            f"card {name} did not stay up", check=f"{name} running", hint=_log_hint(config, name)
        )

    def _ready(self, config: Config, layers: list[list[str]], kernel_ms: float) -> BootResult:
        client = connect(config.redis.url)
        keys = Keys(config.namespace)
        names = [n for layer in layers for n in layer]
        ready_ms = self._elapsed()
        urls = self._urls(config)
        client.hset(
            keys.system,
            mapping={
                "state": SystemState.READY,
                "booted_at": time.time(),
                "ready_ms": f"{ready_ms:.1f}",
            },
        )
        self.events.emit(
            "system.ready", {"cards": names, "urls": urls, "boot_ms": round(ready_ms, 1)}
        )
        StateStore(config.state_dir / defaults.STATE_FILE).set_system(
            state=SystemState.READY,
            redis_url=config.redis.url,
            cards=names,
            booted_at=time.time(),
            pid=os.getpid(),
        )
        LOGGER.info("board ready in %.0f ms: %s", ready_ms, ", ".join(names))
        return BootResult(ready_ms=ready_ms, urls=urls, cards=names, redis_url=config.redis.url)

    def _urls(self, config: Config) -> dict[str, str]:
        from mobo.kernel.status import card_urls

        return card_urls(config)

    def _abort(self, supervisor: sv.Supervisor, daemon: object) -> None:
        """Leave nothing half-started behind after a failed boot."""
        try:
            supervisor.shutdown()
        except MoboError as exc:
            LOGGER.warning("could not stop supervisord after a failed boot: %s", exc)


def _forget(client: redis.Redis, keys: Keys, name: str) -> None:
    """Drop what a card reported in an earlier boot (best effort: a private Redis is not up
    yet before its own card starts, and `_reported_state` ignores stale reports anyway)."""
    try:
        client.delete(keys.card(name), keys.heartbeat(name))
    except redis.ConnectionError:
        pass


def _reported_state(client: redis.Redis, keys: Keys, name: str, since: float) -> str | None:
    """Return the state a card reported during this boot, or None."""
    try:
        state, updated = hmget(client, keys.card(name), ["state", "updated"])
    except redis.ConnectionError:
        return None
    if not state or not updated or float(updated) < since:
        return None
    return state.decode()


def _log_hint(config: Config, name: str) -> str:
    return (
        f"see `mobo logs {name}` ({config.log_dir / (name + '.log')}) and "
        f"{config.log_dir / (name + '.out')}"
    )
