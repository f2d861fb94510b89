"""Power management: start, stop, restart, plug, unplug, shutdown — over supervisor."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import redis

from mobo import defaults
from mobo.exceptions import ComponentError, MoboError
from mobo.kernel import supervisor as sv
from mobo.kernel.bus import Bus
from mobo.kernel.config import Config, RedisSection, load_config
from mobo.kernel.home import add_card_secrets
from mobo.kernel.keys import Keys
from mobo.kernel.redisconn import connect, hmget
from mobo.kernel.registry import Registry
from mobo.kernel.status import board_redis_url, state_store
from mobo.states import CardState, SystemState

LOGGER = logging.getLogger(__name__)


class Lifecycle:
    """Drives one running board's cards."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.registry = Registry.discover()
        self.supervisor = sv.Supervisor(config)

    def require_running(self) -> None:
        if not self.supervisor.is_running():
            raise ComponentError(
                f"the board at {self.config.home} is not running", hint="boot it with `mobo boot`"
            )

    def start(self, name: str) -> None:
        """Start a card whose dependencies run; wait until it reports ready."""
        self.require_running()
        self.registry.get(name)
        procs = self.supervisor.processes()
        if name not in procs:
            raise ComponentError(
                f"card {name} is not loaded on this board",
                hint=f"plug it in with `mobo plug {name}`",
            )
        down = [
            d
            for d in self.registry.get(name).depends_on
            if d in procs and procs[d]["statename"] != "RUNNING"
        ]
        if down:
            raise ComponentError(
                f"cannot start {name}: {', '.join(down)} not running", hint=f"start {down[0]} first"
            )
        self._clear_given_up(name)
        since = time.time()
        self.supervisor.start(name)
        self._wait_ready(name, since)

    def _clear_given_up(self, name: str) -> None:
        """An operator's start overrides the health monitor's decision to leave it stopped."""
        try:
            connect(board_redis_url(self.config), timeout=1.0).hdel(
                Keys(self.config.namespace).health(name), "given_up"
            )
        except redis.RedisError as exc:
            LOGGER.warning("cannot clear the monitor's mark on %s: %s", name, exc)

    def stop(self, name: str) -> list[str]:
        """Stop a card; return the running cards that depend on it (now blocked)."""
        self.require_running()
        self.registry.get(name)
        self.supervisor.stop(name)
        procs = self.supervisor.processes()
        return [
            d
            for d in self.registry.dependents(name, list(procs))
            if procs[d]["statename"] == "RUNNING"
        ]

    def restart(self, name: str) -> None:
        self.stop(name)
        self.start(name)

    def plug(self, name: str) -> None:
        """Plug a card into the config and, when the board runs, load and start it."""
        manifest = self.registry.get(name)
        missing = [d for d in manifest.depends_on if d in self.config.cards.unplugged]
        if missing:
            raise ComponentError(
                f"cannot plug {name}: it depends on unplugged {', '.join(missing)}",
                hint=f"`mobo plug {missing[0]}` first",
            )
        set_unplugged(
            self.config.config_path, [n for n in self.config.cards.unplugged if n != name]
        )
        add_card_secrets(self.config, [name])  # a card unplugged at `mobo init` has none yet
        if not self.supervisor.is_running():
            return
        config = self._running_config()
        card = self.registry.load(name)
        if not (manifest.provides.program and card.wanted(config)):
            return
        env = {
            defaults.HOME_ENV: str(config.home),
            "MOBO_REDIS_URL": config.redis.url,
            "PYTHONUNBUFFERED": "1",
        }
        sv.write_program(config, name, env, priority=200)
        self.supervisor.add(name)
        since = time.time()
        self.supervisor.start(name)
        self._wait_ready(name, since)
        self._emit("component.plugged", {"card": name})

    def unplug(self, name: str) -> None:
        """Stop and unload a card nothing plugged depends on, and record it in the config."""
        self.registry.get(name)
        plugged = [n for n in self.registry.names if n not in self.config.cards.unplugged]
        users = [n for n in plugged if name in self.registry.get(n).depends_on]
        if users:
            raise ComponentError(
                f"cannot unplug {name}: {', '.join(users)} depend on it",
                hint=f"unplug {', '.join(users)} first",
            )
        set_unplugged(self.config.config_path, sorted({*self.config.cards.unplugged, name}))
        if self.supervisor.is_running():
            self.supervisor.remove(name)
            sv.remove_program(self.config, name)
            self._emit("component.unplugged", {"card": name})

    def shutdown(self) -> list[str]:
        """Stop every card in reverse dependency order, then supervisord; return the order."""
        if not self.supervisor.is_running():
            return []
        procs = self.supervisor.processes()
        order = [n for n in reversed(self.registry.order(list(procs))) if n in procs]
        self._emit("system.shutdown_started", {"order": order})
        private = [n for n in order if n == "redis"]
        for name in order:
            if name in private:
                continue
            self.supervisor.stop(name)
        self._emit("system.stopped", {})
        self._set_system(SystemState.OFF)
        for name in private:
            self.supervisor.stop(name)
        self.supervisor.shutdown()
        return order

    def _running_config(self) -> Config:
        from dataclasses import replace

        return replace(self.config, redis=RedisSection(url=board_redis_url(self.config)))

    def _wait_ready(self, name: str, since: float) -> None:
        client = connect(board_redis_url(self.config))
        key = Keys(self.config.namespace).card(name)
        deadline = time.monotonic() + defaults.BOOT_CARD_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                state, updated = hmget(client, key, ["state", "updated"])
            except redis.ConnectionError:
                state = updated = None
            if (
                state
                and updated
                and float(updated) >= since
                and state.decode() == CardState.RUNNING
            ):
                return
            info = self.supervisor.processes().get(name, {})
            if info.get("statename") in ("FATAL", "EXITED", "BACKOFF"):
                break
            time.sleep(defaults.BOOT_POLL_INTERVAL_S)
        raise ComponentError(f"card {name} did not report ready", hint=f"see `mobo logs {name}`")

    def _emit(self, type_: str, data: dict[str, object]) -> None:
        try:
            client = connect(board_redis_url(self.config), timeout=1.0)
            bus = Bus(client, Keys(self.config.namespace), "kernel")
            try:
                bus.emit(type_, data)
            finally:
                bus.close()
        except (redis.RedisError, MoboError) as exc:
            LOGGER.warning("cannot emit %s: %s", type_, exc)

    def _set_system(self, state: SystemState) -> None:
        state_store(self.config).set_system(state=state)
        try:
            connect(board_redis_url(self.config), timeout=1.0).hset(
                Keys(self.config.namespace).system, "state", state
            )
        except redis.RedisError:
            pass


UNPLUGGED_LINE = re.compile(r"^\s*unplugged\s*=.*$", re.MULTILINE)
CARDS_SECTION = re.compile(r"^\[cards\]\s*$", re.MULTILINE)


def set_unplugged(path: Path, names: list[str]) -> None:
    """Rewrite `[cards] unplugged` in mobo.toml, keeping the rest of the file as written."""
    text = path.read_text()
    line = "unplugged = [" + ", ".join(f'"{n}"' for n in names) + "]"
    section = CARDS_SECTION.search(text)
    if section is None:
        text = text.rstrip("\n") + f"\n\n[cards]\n{line}\n"
    else:
        body_end = _section_end(text, section.end())
        body = text[section.end() : body_end]
        if UNPLUGGED_LINE.search(body):
            body = UNPLUGGED_LINE.sub(line, body, count=1)
        else:
            body = f"\n{line}" + body
        text = text[: section.end()] + body + text[body_end:]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    load_config(path.parent)  # the edit must leave a valid config


def _section_end(text: str, start: int) -> int:
    nxt = re.compile(r"^\[", re.MULTILINE).search(text, start)
    return nxt.start() if nxt else len(text)
