"""`mobo run CARD`: the one entry point every supervised program uses.

It loads the config, sets up JSON logging, installs signal handlers, keeps a heartbeat
with the card's own health in Redis, retries setup that is "not ready yet" with capped
backoff inside the process, and exits with `EXIT_FATAL` (which supervisor is told not to
restart) on a configuration error.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from types import FrameType

import redis

from mobo import defaults
from mobo.contract import Board, Card
from mobo.exceptions import ComponentFatal, ComponentNotReady, MoboError
from mobo.kernel.config import load_config
from mobo.kernel.keys import Keys
from mobo.kernel.logger import setup_logging
from mobo.kernel.provided import provided, subscribe
from mobo.kernel.registry import Registry
from mobo.kernel.reload import ConfigWatcher
from mobo.states import CardState, Health

LOGGER = logging.getLogger(__name__)


def backoff_s(tries: int) -> float:
    """Home Assistant's retry delay: 2 ** min(tries, 4) * 5 s, plus up to 10 % jitter."""
    base = 2 ** min(tries, defaults.NOT_READY_BACKOFF_MAX_EXP) * defaults.NOT_READY_BACKOFF_BASE_S
    return base * (1 + random.random() / 10)


def run_card(name: str) -> int:
    """Run one card in this process until it stops; return the exit code."""
    try:
        config = load_config()
        registry = Registry.discover()
        card = registry.load(name)
        handlers = provided(registry, [name], "bus_handlers")  # a program hosts its own
    except MoboError as exc:
        logging.basicConfig()
        LOGGER.error("card %s cannot start: %s", name, exc)
        return defaults.EXIT_FATAL
    setup_logging(config.log_dir, name, level=config.log.level)
    board = Board(config, name, Keys(config.namespace), config.redis.url)
    if handlers:
        subscribe(board, handlers)
    _install_signals(board)
    heartbeat = threading.Thread(
        target=_heartbeat, args=(board, card), daemon=True, name="heartbeat"
    )
    heartbeat.start()
    return _serve(board, card)


def _serve(board: Board, card: Card) -> int:
    tries = 0
    while not board.stop_requested.is_set():
        try:
            _report(board, CardState.STARTING)
            _announce_start(board)
            card.run(board)
            break
        except ComponentNotReady as exc:
            delay = backoff_s(tries)
            tries += 1
            LOGGER.warning("%s not ready (%s); retrying in %.1fs", board.card, exc, delay)
            _report(board, CardState.NOT_READY, detail=str(exc))
            _emit(
                board,
                "component.not_ready",
                {"card": board.card, "reason": str(exc), "retry_in": round(delay, 1)},
            )
            board.wait(delay)
        except ComponentFatal as exc:
            return _fail(board, str(exc), fatal=True)
        except Exception as exc:
            LOGGER.exception("%s crashed", board.card)
            return _fail(board, f"{type(exc).__name__}: {exc}", fatal=False)
    _report(board, CardState.STOPPED, Health.UNKNOWN)
    _emit(board, "component.stopped", {"card": board.card})
    _close(board)
    return 0


def _announce_start(board: Board) -> None:
    """Emit `component.starting` when the board's Redis answers; the card that is the
    board's Redis (a private redis-server) starts before there is a bus to tell."""
    try:
        board.redis.ping()
    except (redis.RedisError, OSError):
        LOGGER.info("%s starting; no bus yet to announce it on", board.card)
        return
    _emit(board, "component.starting", {"card": board.card})


def _fail(board: Board, reason: str, *, fatal: bool) -> int:
    LOGGER.error("%s failed: %s", board.card, reason)
    _report(board, CardState.FAILED, Health.FAILED, detail=reason)
    _emit(board, "component.failed", {"card": board.card, "reason": reason, "fatal": fatal})
    _close(board)
    return defaults.EXIT_FATAL if fatal else 1


def _install_signals(board: Board) -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        board.stop_requested.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _heartbeat(board: Board, card: Card) -> None:
    """Refresh the card's heartbeat and health while it is ready; apply hot config."""
    watcher = ConfigWatcher(board.config)
    while not board.wait(board.config.health.heartbeat):
        applied = watcher.poll()
        if applied:
            LOGGER.info("applied config change: %s", ", ".join(applied))
            _emit(board, "config.reloaded", {"card": board.card, "keys": applied})
        if not board.is_ready:
            continue
        check = card.health(board)
        _report(
            board,
            CardState.RUNNING,
            Health.HEALTHY if check.ok else Health.DEGRADED,
            detail=check.detail,
        )


def _report(board: Board, state: CardState, health: Health = Health.UNKNOWN, **fields: str) -> None:
    try:
        board.report(state, health, **fields)
    except (redis.RedisError, OSError) as exc:
        LOGGER.warning("cannot report %s state to the bus: %s", board.card, exc)


def _emit(board: Board, type_: str, data: dict[str, object]) -> None:
    try:
        board.bus.emit(type_, data)
    except (redis.RedisError, OSError) as exc:
        LOGGER.warning("cannot emit %s: %s", type_, exc)


def _close(board: Board) -> None:
    if "bus" in board.__dict__:
        board.bus.close()
