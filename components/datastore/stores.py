"""`Datastores`: the board's stores for one process, as a card reaches them.

    stores = Datastores.of(board)      # one per process, kept on the Board handle
    stores.default.execute(Select("todos", limit=10))
    stores["legacy"].execute(...)      # any configured store, by name

A store is opened (its pool made, its schema loaded) on first use and closed when the
process exits. After a fork (gunicorn's workers) the child opens its own: connections
are never shared across processes. When a bus is given, every committed write through
`execute()` is announced as `data.change` events, all the rows of one write in one
Redis round trip (see changes.py); a bus that is down never fails a write. When a
card that reads the change feed is plugged, the same changes are also appended to the
feed's durable stream right after the emit (capture/writer.py), except for stores whose
changes are captured in the database (Postgres).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .adapters.base import Adapter, Health
from .changes import Change
from .migrate import Applied, migrate_card
from .registry import build_adapter
from .settings import StoreSettings
from .specs import DEFAULT_STORE, board_stores, unknown_store

if TYPE_CHECKING:
    from mobo.contract import Board
    from mobo.kernel.config import Config

LOGGER = logging.getLogger(__name__)

CHANGE_EVENT = "data.change"


class EventSink(Protocol):
    """What Datastores needs of the bus: `mobo.kernel.bus.Bus` is one."""

    def emit_many(self, type_: str, datas: list[dict[str, Any]]) -> object: ...


BusProvider = Callable[[], EventSink]


class ChangeSink(Protocol):
    """Where committed changes go besides the bus: the change feed's stream."""

    def write(self, changes: Sequence[Change]) -> None: ...


class Datastores:
    """The board's stores by name (`stores["main"]`, `"pg" in stores`, `list(stores)`);
    `default` is the store named `main`."""

    def __init__(
        self,
        settings: Mapping[str, StoreSettings],
        *,
        bus: EventSink | BusProvider | None = None,
        stream: ChangeSink | None = None,
    ) -> None:
        self._settings = dict(settings)
        self._bus = bus
        self._stream = stream
        self._adapters: dict[str, Adapter] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @classmethod
    def from_config(
        cls, config: Config, *, bus: EventSink | BusProvider | None = None
    ) -> Datastores:
        """Validate the board's `[datastores.*]` (ConfigError naming the key) and wrap them.

        With a bus, writes are announced, and (a feed reader plugged) streamed too."""
        return cls(board_stores(config), bus=bus, stream=change_stream(config) if bus else None)

    @classmethod
    def of(cls, board: Board) -> Datastores:
        """The board's stores for this process, made on first use and kept on the board;
        writes through them emit `data.change` on the board's bus."""
        return board.attached(
            "datastore.stores", lambda: cls.from_config(board.config, bus=lambda: board.bus)
        )

    # -- by name ------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Adapter:
        """Return the named store's adapter, opening it on first use in this process;
        ConfigError (with the known names) for a store the board does not have."""
        if self._pid != os.getpid():
            self._forget_parent()
        adapter = self._adapters.get(name)
        return adapter if adapter is not None else self._open(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._settings)

    def __len__(self) -> int:
        return len(self._settings)

    def __contains__(self, name: object) -> bool:
        return name in self._settings

    @property
    def names(self) -> list[str]:
        """Return the stores' names, `main` first."""
        return list(self._settings)

    @property
    def default(self) -> Adapter:
        """Return the board's default store (`main`)."""
        return self[DEFAULT_STORE]

    def settings(self, name: str) -> StoreSettings:
        """Return a store's validated settings without opening it."""
        try:
            return self._settings[name]
        except KeyError:
            raise unknown_store(name, list(self._settings)) from None

    def is_open(self, name: str) -> bool:
        """Tell whether this process has opened the store."""
        return name in self._adapters and self._pid == os.getpid()

    # -- operations ---------------------------------------------------------------------

    def health(self, name: str) -> Health:
        """Open the store if needed and time a query on it; never raises."""
        try:
            return self[name].health()
        except Exception as exc:  # a store that cannot open is simply unhealthy
            return Health(False, 0.0, str(exc))

    def migrate_card(self, card: str, *, dry_run: bool = False) -> list[Applied]:
        """Apply a card's own migrations (`components/<card>/migrations/<engine>/`) to the
        default store, once each; return what was applied (nothing when all were)."""
        return migrate_card(self.default, card, dry_run=dry_run)

    def close(self) -> None:
        """Close every store this process opened (they reopen on next use)."""
        with self._lock:
            adapters, self._adapters = self._adapters, {}
        atexit.unregister(self.close)
        if self._pid != os.getpid():
            return  # inherited from the parent: its connections are not ours to close
        for name, adapter in adapters.items():
            try:
                adapter.close()
            except Exception as exc:  # one store failing to close must not keep others open
                LOGGER.warning("datastore %s did not close cleanly: %s", name, exc)

    # -- internals ----------------------------------------------------------------------

    def _open(self, name: str) -> Adapter:
        settings = self.settings(name)
        with self._lock:
            adapter = self._adapters.get(name)
            if adapter is None:
                adapter = build_adapter(name, settings)
                if self._bus is not None or self._stream is not None:
                    adapter.on_change(self._emit)
                if not self._adapters:
                    atexit.register(self.close)  # the process closes what it opened
                self._adapters[name] = adapter
        return adapter

    def _forget_parent(self) -> None:
        """Drop the parent process's adapters after a fork, without closing them."""
        with self._lock:
            self._adapters = {}
            self._pid = os.getpid()

    def _emit(self, changes: Sequence[Change]) -> None:
        bus = self._bus() if callable(self._bus) else self._bus
        if bus is not None:
            bus.emit_many(CHANGE_EVENT, [change.to_dict() for change in changes])
        if self._stream is not None:
            self._stream.write(changes)  # a second pipelined round trip: the bus takes no more


def change_stream(config: Config) -> ChangeSink | None:
    """The change feed's writer, or None when no card reads the feed."""
    from .capture.writer import stream_for  # on first use: capture imports psycopg

    return stream_for(config)
