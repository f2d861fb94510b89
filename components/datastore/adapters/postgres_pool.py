"""The PostgreSQL adapter's connections: psycopg_pool, with a checkout that costs little.

On a primary-key select the pool's own costs rival the query's, so:
- a connection is pinged before reuse only when it was not lent for `POOL_CHECK_IDLE_S`
  (psycopg_pool's `check_connection` would add a round trip to every checkout; a
  connection that broke since still fails its query, and the pool discards it);
- `Lend` is getconn/putconn without `pool.connection()`'s `with conn` (a commit that
  the adapter's explicit BEGIN/COMMIT never needs) and usage statistics;
- each connection keeps one cursor for the adapter's statements: making a cursor per
  statement costs more than the rest of the adapter's work on such a select.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import psycopg_pool
from psycopg.adapt import Loader
from psycopg.types.string import TextLoader

from ..settings import POOL_CHECK_IDLE_S, StoreSettings
from ..values import iso_from_pg

# Read as the server's text, which is already the JSON-friendly spelling (numeric in
# plain notation with its scale, uuid in canonical lowercase): no Decimal or UUID object
# is made only to be turned back into the same text (codecs.PostgresCodec relies on it).
TEXT_TYPES = ("numeric", "uuid")
# The adapter's own statements (not other users of a pooled connection, such as
# MagBridge's reads) also take dates and times as text, respelt the way `isoformat()`
# spells them (values.iso_from_pg): no datetime is made only to be printed.
TEMPORAL_TYPES = ("timestamptz", "timestamp", "timetz", "time")


class IsoLoader(Loader):
    """Load a timestamp[tz] or time[tz] as its ISO 8601 text (DateStyle ISO, as set)."""

    def load(self, data: Any) -> str:
        return iso_from_pg(str(data, "utf-8"))


def iso_cursor(cursor: psycopg.Cursor[Any]) -> psycopg.Cursor[Any]:
    """Make `cursor` load dates and times as ISO text (before its first statement)."""
    adapters = cursor.adapters
    adapters.register_loader("date", TextLoader)
    for type_name in TEMPORAL_TYPES:
        adapters.register_loader(type_name, IsoLoader)
    return cursor


class PooledConnection(psycopg.Connection[Any]):
    """A pooled connection that remembers when it was lent, and keeps one cursor."""

    lent_at: float = float("-inf")
    _statement_cursor: psycopg.Cursor[Any] | None = None
    _control_cursor: psycopg.Cursor[Any] | None = None
    _setup_cursor: psycopg.Cursor[Any] | None = None
    # an open pipeline that carries BEGIN and a setup to the first statement (postgres.py)
    batch: Any = None
    pipelined: bool = False  # the open transaction began in a pipeline
    commit_next: bool = False  # send COMMIT right after the next statement
    committed: bool = False  # ...which it was: the transaction is over

    def statement_cursor(self) -> psycopg.Cursor[Any]:
        """Return this connection's cursor for the adapter's statements."""
        cursor = self._statement_cursor
        if cursor is None or cursor.closed:
            cursor = self._statement_cursor = iso_cursor(self.cursor())
        return cursor

    def control_cursor(self) -> psycopg.Cursor[Any]:
        """Return this connection's cursor for BEGIN and COMMIT in a pipeline."""
        cursor = self._control_cursor
        if cursor is None or cursor.closed:
            cursor = self._control_cursor = self.cursor()
        return cursor

    def setup_cursor(self) -> psycopg.Cursor[Any]:
        """Return this connection's cursor for a transaction's setup statement.

        Its own cursor, so that after an error in the pipeline its result (None: the
        setup failed; else the statement after it did) tells which statement failed."""
        cursor = self._setup_cursor
        if cursor is None or cursor.closed:
            cursor = self._setup_cursor = self.cursor()
        return cursor


def open_pool(
    name: str, settings: StoreSettings, kwargs: dict[str, Any]
) -> psycopg_pool.ConnectionPool:
    """Open the pool of one store, with `pool_min` connections made before returning."""
    pool = psycopg_pool.ConnectionPool(
        settings.dsn or "",
        connection_class=PooledConnection,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        kwargs=kwargs,
        configure=configure,
        check=check,
        timeout=settings.pool_timeout_s,
        name=f"datastore-{name}",
        open=False,
    )
    pool.open(wait=True, timeout=settings.connect_timeout_s)
    return pool


def configure(conn: psycopg.Connection[Any]) -> None:
    """Set up a new pooled connection: instants in UTC and ISO, TEXT_TYPES read as text."""
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET DateStyle TO ISO")  # what IsoLoader reads
    for type_name in TEXT_TYPES:
        conn.adapters.register_loader(type_name, TextLoader)


def check(conn: PooledConnection) -> None:
    """Ping a connection before it is lent, unless it was lent lately (pool `check`)."""
    now = time.monotonic()
    if now - conn.lent_at >= POOL_CHECK_IDLE_S or conn.closed:
        psycopg_pool.ConnectionPool.check_connection(conn)
    conn.lent_at = now


class Lend:
    """Lend a pooled connection for a `with` block: getconn, then putconn."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, pool: psycopg_pool.ConnectionPool) -> None:
        self._pool = pool

    def __enter__(self) -> PooledConnection:
        self._conn = self._pool.getconn()
        return self._conn  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        self._pool.putconn(self._conn)  # the pool rolls back a transaction left open
