"""The change feed: every committed row change of the board's stores, onto a durable stream.

    capture = ChangeCapture(board)    # in the process of a card that reads the feed
    capture.start()                   # daemon threads; returns at once
    capture.ready                     # every Postgres store's capture is running
    capture.stop()

MagDS owns the feed; cards read it (the realtime card today; MQTT and Sentinel later).
What reaches the stream (`names.changes(keys)`, entry format in entry.py):

- PostgreSQL stores (with `[realtime] capture = true`, the default): every insert,
  update and delete on the exposed tables, whoever made it (MagFlock, psql, another
  app), captured in the database by triggers into an outbox table and forwarded by one
  thread per store (postgres.py; the SQL in triggers.py).
- SQLite and MariaDB stores (and Postgres ones with `capture = false`): the writes made
  through MagDS, XADDed by the writing process itself right after the commit (writer.py,
  wired into `Datastores` in components/datastore/stores.py). Changes made outside
  MagFlock on those engines are not seen.

See docs/change-feed.md.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .. import names
from .postgres import PostgresCapture
from .settings import CaptureSettings, load_capture_settings
from .triggers import install, uninstall

if TYPE_CHECKING:
    from mobo.contract import Board
    from mobo.kernel.bus import Subscription

LOGGER = logging.getLogger(__name__)

__all__ = [
    "CaptureSettings",
    "ChangeCapture",
    "PostgresCapture",
    "captured_stores",
    "install",
    "load_capture_settings",
    "uninstall",
]


def captured_stores(config: Any) -> list[str]:
    """Names of the board's stores whose changes are captured in the database."""
    from ..specs import board_stores

    if not load_capture_settings(config).capture:
        return []
    return [name for name, s in board_stores(config).items() if s.engine == "postgres"]


class ChangeCapture:
    """The capture threads of one board (one per Postgres store), run by a card that
    reads the feed (the realtime card)."""

    def __init__(self, board: Board) -> None:
        self._board = board
        from components.datastore.stores import Datastores

        settings = load_capture_settings(board.config)
        stores = Datastores.of(board)
        self.captures = [
            PostgresCapture(
                name,
                stores.settings(name).dsn or "",
                stores.settings(name).schema,
                board.redis,
                names.changes(board.keys),
                settings,
            )
            for name in captured_stores(board.config)
        ]
        self._subscription: Subscription | None = None

    @property
    def ready(self) -> bool:
        """True when every Postgres store's capture is connected and listening."""
        return all(capture.ready for capture in self.captures)

    def start(self) -> None:
        """Start one thread per captured store; returns at once."""
        for capture in self.captures:
            capture.start()
        if self.captures:
            # the gateway announces DDL it noticed: attach the trigger to new tables now
            self._subscription = self._board.bus.on("schema.reloaded", self._rescan)

    def stop(self) -> None:
        """Stop the threads (each finishes or rolls back its drain in flight)."""
        if self._subscription is not None:
            self._board.bus.off(self._subscription)
            self._subscription = None
        for capture in self.captures:
            capture.stop()

    def status(self) -> list[dict[str, Any]]:
        """Per store: ready, changes forwarded, last error."""
        return [
            {
                "store": c.store,
                "ready": c.ready,
                "forwarded": c.forwarded,
                "error": c.last_error,
            }
            for c in self.captures
        ]

    def _rescan(self, _event: object) -> None:
        for capture in self.captures:
            capture.rescan()
