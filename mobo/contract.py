"""The card contract: what a card provides, and the Board handle it receives.

    class Component(Protocol):
        name: ClassVar[str]
        def preflight(self, config) -> list[Check]: ...   # POST, before anything starts
        def wanted(self, config) -> bool: ...            # False: not needed on this board
        def health(self, board) -> Check: ...
        def run(self, board) -> None: ...    # set up, board.ready(), serve until stop

`Board` is the one handle a card's process receives (Home Assistant passes `hass`):
config, bus, log, state, keys, Redis, the stop flag, and `attached()`: the place a
card keeps what it makes once per process on the board (MagDS's stores hang there).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from mobo.states import CardState, Health

if TYPE_CHECKING:
    import redis

    from mobo.kernel.bus import Bus
    from mobo.kernel.cache import Cache
    from mobo.kernel.config import Config
    from mobo.kernel.keys import Keys
    from mobo.kernel.state import StateStore

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check: a POST check or a health check."""

    name: str
    ok: bool
    detail: str = ""
    hint: str | None = None
    ms: float = 0.0


class Component(Protocol):
    name: ClassVar[str]

    def preflight(self, config: Config) -> list[Check]: ...
    def wanted(self, config: Config) -> bool: ...
    def health(self, board: Board) -> Check: ...
    def run(self, board: Board) -> None: ...


class Card:
    """Base class with the defaults every card may override."""

    name: ClassVar[str] = ""

    def preflight(self, config: Config) -> list[Check]:
        """Return this card's own POST checks (none by default)."""
        return []

    def wanted(self, config: Config) -> bool:
        """Say whether this board needs the card's process (True by default)."""
        return True

    def url(self, config: Config) -> str | None:
        """Return the URL the card serves, if any."""
        return None

    def health(self, board: Board) -> Check:
        """Report healthy while the process runs (cards override with a real probe)."""
        return Check(self.name, True, "process running")

    def probe(self, board: Board, pid: int | None) -> Check:
        """Check the card from outside its process (the health monitor, each round).

        The default: the process `pid` that supervisor runs has reported a heartbeat
        recently. Cards add a real probe (an HTTP request, a PING, a query).
        """
        from mobo.kernel.health import heartbeat_check

        return heartbeat_check(board, self.name, pid)

    def run(self, board: Board) -> None:
        raise NotImplementedError


class Board:
    """The handle a card's process receives from `mobo run`."""

    def __init__(
        self,
        config: Config,
        card: str,
        keys: Keys,
        redis_url: str,
        log: logging.Logger | None = None,
    ) -> None:
        self.config = config
        self.card = card
        self.keys = keys
        self.redis_url = redis_url
        self.log = log or logging.getLogger(f"components.{card}")
        self.stop_requested = threading.Event()
        self.started_at = time.time()
        self.is_ready = False
        self._attached: dict[str, Any] = {}
        self._attach_lock = threading.Lock()

    @cached_property
    def redis(self) -> redis.Redis:
        from mobo.kernel.redisconn import connect

        return connect(self.redis_url)

    @cached_property
    def bus(self) -> Bus:
        from mobo.kernel.bus import Bus

        bus = Bus(self.redis, self.keys, self.card, history_maxlen=self.config.bus.history)
        bus.start()
        return bus

    @cached_property
    def cache(self) -> Cache:
        from mobo.kernel.cache import Cache

        return Cache(self.redis, self.keys, self.bus)

    def attached(self, key: str, factory: Callable[[], T]) -> T:
        """Return the object a card keeps on this board under `key`, made by `factory`
        once per process (threads racing for it get the same one)."""
        with self._attach_lock:
            if key not in self._attached:
                self._attached[key] = factory()
            return self._attached[key]

    @cached_property
    def state(self) -> StateStore:
        from mobo.kernel.state import StateStore

        return StateStore(self.config.state_dir / "state.json")

    def report(self, state: CardState, health: Health = Health.UNKNOWN, **fields: str) -> None:
        """Publish this card's state to its Redis hash (the state of record for dashboards)."""
        from mobo.kernel.redisconn import report_card

        report_card(
            self.redis,
            self.keys,
            self.card,
            ttl=max(2, math.ceil(3 * self.config.health.heartbeat)),
            state=state,
            health=health,
            pid=str(os.getpid()),
            started=f"{self.started_at:.3f}",
            **fields,
        )

    def ready(self, url: str = "", detail: str = "") -> None:
        """Tell the board this card is set up and serving."""
        self.report(CardState.RUNNING, Health.HEALTHY, url=url, detail=detail)
        self.is_ready = True
        self.bus.emit("component.started", {"card": self.card, "pid": os.getpid(), "url": url})

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True when a stop was requested meanwhile."""
        return self.stop_requested.wait(seconds)
