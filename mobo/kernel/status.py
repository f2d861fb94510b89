"""What `mobo status` shows: every card's state, pid, uptime, memory, health and URL.

Sources, best first: supervisord (process state and pid), the cards' own reports in Redis
(health, URL, detail), psutil (memory of the process tree), and the board's state file when
the rest is down.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import psutil
import redis

from mobo import defaults
from mobo.exceptions import ConfigError, MoboError
from mobo.kernel import supervisor as sv
from mobo.kernel.config import Config, load_config
from mobo.kernel.keys import Keys
from mobo.kernel.redisconn import connect, read_cards
from mobo.kernel.registry import Registry
from mobo.kernel.state import StateStore
from mobo.states import SUPERVISOR_STATES, CardState, Health, SystemState

LOGGER = logging.getLogger(__name__)
# what the kernel itself reports about the board; a card's status hook cannot replace it
KERNEL_FIELDS = frozenset(("id", "name", "home", "state", "supervisord_pid", "redis_url"))
_FAILED_HOOKS: set[str] = set()


@dataclass(frozen=True, slots=True)
class CardStatus:
    name: str
    plugged: bool
    state: str
    pid: int | None
    uptime_s: float | None
    memory_mb: float | None
    health: str
    url: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class BoardStatus:
    board: dict[str, Any]
    cards: list[CardStatus]

    def to_dict(self) -> dict[str, Any]:
        return {"board": self.board, "cards": [asdict(c) for c in self.cards]}


def card_urls(config: Config) -> dict[str, str]:
    """Return the URL each plugged card serves."""
    registry = Registry.discover()
    urls = {}
    for name in registry.names:
        if name in config.cards.unplugged:
            continue
        url = registry.load(name).url(config)
        if url:
            urls[name] = url
    return urls


def board_redis_url(config: Config) -> str:
    """Return the Redis the running board uses (as recorded at boot)."""
    if config.redis.url and config.redis.url != "private":
        return config.redis.url
    recorded = state_store(config).load().get("system", {}).get("redis_url")
    return recorded or defaults.REDIS_URL


def forget_board_keys(home: Path) -> int:
    """Delete the Redis keys of the board whose home is `home`, shut down and about to be
    deleted (its event history and change streams would otherwise outlive it); return
    how many. 0 for a home without a board, or whose private Redis went with it."""
    try:
        config = load_config(home, environ={})
    except (ConfigError, OSError):
        return 0
    try:
        client = redis.Redis.from_url(board_redis_url(config))
        try:
            return Keys(config.namespace).forget(client)
        finally:
            client.close()
    except redis.RedisError:
        return 0


def state_store(config: Config) -> StateStore:
    return StateStore(config.state_dir / defaults.STATE_FILE)


def collect(config: Config) -> BoardStatus:
    """Gather the status of every card the registry knows."""
    registry = Registry.discover()
    supervisor = sv.Supervisor(config)
    running = supervisor.is_running()
    procs = supervisor.processes() if running else {}
    reports = _reports(config, registry.names) if running else {}
    urls = card_urls(config)
    system = state_store(config).load().get("system", {})
    started = system.get("cards", []) if running else None
    cards = [
        _card(config, n, procs.get(n), reports.get(n, {}), urls.get(n), started)
        for n in registry.names
    ]
    cards = [_monitored(config, c, reports.get(c.name, {})) for c in cards]
    cards = _mark_blocked(registry, cards)
    board = {
        "id": config.board.id,
        "name": config.board.name,
        "home": str(config.home),
        "state": _system_state(running, cards),
        "supervisord_pid": supervisor.daemon_pid() if running else None,
        "redis_url": system.get("redis_url") if running else None,
    }
    board.update(card_fields(config, registry))
    return BoardStatus(board, cards)


def card_fields(config: Config, registry: Registry | None = None) -> dict[str, Any]:
    """The fields the plugged cards add to the board's status through their manifest's
    `status` hook (`module:function`, called with the config; MagBackup's gives
    `last_backup`). A hook that raises is logged once per process and skipped."""
    registry = registry or Registry.discover()
    fields: dict[str, Any] = {}
    for name in registry.names:
        if name in config.cards.unplugged:
            continue
        try:
            hook = registry.hook(name, "status")
            if hook is not None:
                fields.update(hook(config))
        except Exception as exc:  # a card's bug must not take `mobo status` down
            if name not in _FAILED_HOOKS:
                _FAILED_HOOKS.add(name)
                LOGGER.warning("the status hook of card %s failed: %s", name, exc)
    return {k: v for k, v in fields.items() if k not in KERNEL_FIELDS}


def _monitored(config: Config, card: CardStatus, report: dict[str, str]) -> CardStatus:
    """Prefer the health monitor's judgement when it is recent."""
    if report.get("monitor_given_up"):
        return replace(
            card,
            state=CardState.FAILED,
            health=Health.FAILED,
            detail=f"left stopped: {report['monitor_given_up']}",
        )
    checked = float(report.get("monitor_checked_at") or 0)
    if not checked or time.time() - checked > 3 * config.health.interval + 5:
        return card
    if card.state != CardState.RUNNING and card.state != CardState.IDLE:
        return card
    health = report.get("monitor_state", card.health)
    detail = card.detail if health == Health.HEALTHY else report.get("monitor_detail", "")
    return replace(card, health=health, detail=detail)


def _mark_blocked(registry: Registry, cards: list[CardStatus]) -> list[CardStatus]:
    """Name the cause when a card's dependency is not running (the card is blocked)."""
    states = {c.name: c.state for c in cards}
    up = (CardState.RUNNING, CardState.IDLE)
    out = []
    for card in cards:
        down = [d for d in registry.get(card.name).depends_on if states.get(d) not in up]
        quiet = card.state in (CardState.UNPLUGGED, CardState.IDLE) or card.detail == "board is off"
        if not down or quiet:
            out.append(card)
            continue
        cause = ", ".join(f"{d} is {states.get(d)}" for d in down)
        if card.state == CardState.RUNNING:
            out.append(replace(card, health=Health.DEGRADED, detail=f"dependency down: {cause}"))
        else:
            out.append(replace(card, state=CardState.BLOCKED, detail=f"blocked: {cause}"))
    return out


def _reports(config: Config, names: list[str]) -> dict[str, dict[str, str]]:
    try:
        client = connect(board_redis_url(config), timeout=1.0)
        return read_cards(client, Keys(config.namespace), names)
    except (redis.RedisError, MoboError):
        return {}


def _card(
    config: Config,
    name: str,
    proc: dict[str, Any] | None,
    report: dict[str, str],
    url: str | None,
    started: list[str] | None,
) -> CardStatus:
    plugged = name not in config.cards.unplugged
    if proc is None:
        if not plugged:
            state, detail = CardState.UNPLUGGED, "unplugged"
        elif started is not None and name not in started:
            state, detail = CardState.IDLE, "not needed on this board"
        else:
            state, detail = CardState.STOPPED, "board is off" if started is None else "stopped"
        return CardStatus(name, plugged, state, None, None, None, Health.UNKNOWN, None, detail)
    pid = proc["pid"] or None
    state = SUPERVISOR_STATES.get(proc["statename"], CardState.UNKNOWN)
    # only a report from this very process counts (a restarted card's old report lingers
    # until its heartbeat expires)
    current = report if pid and report.get("pid") == str(pid) else {}
    fresh = current.get("alive") == "1"
    if state in (CardState.RUNNING, CardState.STARTING) and fresh:
        # the card's own report is finer than supervisor's (not_ready, or ready before
        # supervisor's startsecs has passed)
        state = CardState(current.get("state", state))
    if state == CardState.RUNNING:
        health = current.get("health", Health.UNKNOWN) if fresh else Health.DEGRADED
    else:
        health = Health.UNKNOWN
    report = current
    return CardStatus(
        name,
        plugged,
        state,
        pid,
        time.time() - proc["start"] if pid else None,
        _memory_mb(pid),
        health,
        report.get("url") or url if pid else None,
        report.get("detail") or proc.get("description", ""),
    )


def _memory_mb(pid: int | None) -> float | None:
    """Resident memory of a process and its children, in MB."""
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return round(sum(p.memory_info().rss for p in procs) / 1_048_576, 1)
    except psutil.Error:
        return None


def _system_state(running: bool, cards: list[CardStatus]) -> str:
    if not running:
        return SystemState.OFF
    loaded = [c for c in cards if c.state not in (CardState.UNPLUGGED, CardState.IDLE)]
    if all(c.state == CardState.RUNNING for c in loaded):
        return SystemState.READY
    return SystemState.DEGRADED
