"""The adapter contract every engine fulfils, and the values it returns."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from ..changes import Change, ChangeObserver
from ..query import Query
from ..schema import Column, ForeignKey, Index, Kind, Schema, Table
from ..settings import StoreSettings

__all__ = [
    "Adapter",
    "Change",
    "Column",
    "ForeignKey",
    "Health",
    "Index",
    "Kind",
    "Result",
    "Schema",
    "Setup",
    "Table",
    "Transaction",
]

LOGGER = logging.getLogger(__name__)

Params = Sequence[object] | Mapping[str, object] | None
# A statement run first in a transaction (e.g. the caller's role and claims): SQL, params
Setup = tuple[str, Params]


@dataclass(slots=True)
class Result:
    """Rows as dicts of JSON-friendly values; `count` only when the Select asked for it."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    count: int | None = None
    rowcount: int = 0


class Health(NamedTuple):
    """What `Adapter.health()` found; unpacks as `ok, latency_ms, detail`."""

    ok: bool
    latency_ms: float
    detail: str


class Transaction:
    """An open transaction on one pooled connection; pass it as `execute(..., tx=tx)`.

    It belongs to the thread that opened it and ends with the `transaction()` block.
    `changes` collects the rows its writes changed, reported to observers on commit.
    `widen` (False in a transaction with a setup, which may switch to a role under row
    policies): whether writes ask the engine for the changed rows beyond what they return.
    """

    __slots__ = ("active", "adapter", "changes", "connection", "widen")

    def __init__(self, adapter: Adapter, connection: object) -> None:
        self.adapter = adapter
        self.connection = connection
        self.active = True
        self.changes: list[Change] = []
        self.widen = True


class Adapter(ABC):
    """One data store: a pool, a cached schema, and queries compiled for its engine."""

    engine: ClassVar[str]

    def __init__(self, name: str, settings: StoreSettings) -> None:
        self.name = name
        self.settings = settings
        self._observers: tuple[ChangeObserver, ...] = ()

    def __enter__(self) -> Adapter:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def connect(self) -> None:
        """Open the pool (pool_min..pool_max) and load the schema; DatastoreUnavailable if down."""

    @abstractmethod
    def close(self) -> None:
        """Close the pool; the adapter can be connected again."""

    @abstractmethod
    def health(self) -> Health:
        """Run a trivial query and time it; never raises."""

    @abstractmethod
    def introspect(self) -> Schema:
        """Return the cached schema, loading it on first use."""

    @abstractmethod
    def refresh_schema(self) -> Schema:
        """Reload the schema from the engine (after DDL) and cache it."""

    @abstractmethod
    def execute(self, query: Query, *, tx: Transaction | None = None) -> Result:
        """Run a neutral query, in `tx` or in a transaction of its own."""

    @abstractmethod
    def transaction(
        self, *, setup: Setup | None = None, read_only: bool = False
    ) -> AbstractContextManager[Transaction]:
        """Open a transaction: committed when the block ends, rolled back if it raises.

        `setup` runs first, inside it (PostgreSQL sends BEGIN and it in one round trip
        with the block's first statement); if it fails, the block's first statement or
        the commit raises `SetupFailed` wrapping the store's error. `read_only` makes
        the transaction READ ONLY where the engine has such a thing (PostgreSQL)."""

    def execute_in(
        self,
        query: Query,
        *,
        setup: Setup | None = None,
        read_only: bool = False,
    ) -> Result:
        """Run `query` as a whole transaction of its own, after `setup`; return its Result.

        PostgreSQL sends BEGIN, the setup, the query and COMMIT in one round trip when the
        query is one statement. Use it when nothing must be checked between the query and
        the commit. This default is `transaction()` + `execute()`."""
        with self.transaction(setup=setup, read_only=read_only) as tx:
            return self.execute(query, tx=tx)

    @abstractmethod
    def raw(self, sql: str, params: Params = None, *, tx: Transaction | None = None) -> Result:
        """Run operator SQL with the driver's own placeholders; no schema checks."""

    # -- change observers ---------------------------------------------------------------

    def on_change(self, callback: ChangeObserver) -> Callable[[], None]:
        """Call `callback(changes)` after each committed write; return a function to stop.

        Writes through `execute()` report the rows they changed, once per statement, or
        once per transaction inside `transaction()`; `raw()` reports nothing. While an
        observer is attached, writes ask the engine for the changed rows (RETURNING).
        """
        self._observers = (*self._observers, callback)

        def remove() -> None:
            self._observers = tuple(o for o in self._observers if o is not callback)

        return remove

    def _notify(self, changes: Sequence[Change]) -> None:
        """Hand committed changes to every observer; an observer's error never fails a write."""
        if not changes:
            return
        for observer in self._observers:
            try:
                observer(changes)
            except Exception:
                LOGGER.warning("datastore %s: a change observer failed", self.name, exc_info=True)
