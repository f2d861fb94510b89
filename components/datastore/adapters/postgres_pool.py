"""The PostgreSQL adapter's connections: psycopg_pool, with a checkout that costs little.

On a primary-key select the pool's own costs rival the query's, so:
- a connection is pinged before reuse only when it was not lent for `POOL_CHECK_IDLE_S`
  (psycopg_pool's `check_connection` would add a round trip to every checkout; a
  connection that broke since still fails its query, and the pool discards it);
- `Lend` is getconn/putconn without `pool.connection()`'s `with conn` (a commit that
  the adapter's explicit BEGIN/COMMIT never needs) and usage statistics;
- `FastPool` keeps up to `pool_min` idle connections parked in front of psycopg_pool
  and lends them without its locks, conditions, logging and statistics (see its
  docstring for the rules that keep psycopg_pool the pool);
- each connection keeps one cursor for the adapter's statements: making a cursor per
  statement costs more than the rest of the adapter's work on such a select.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import psycopg_pool
from psycopg.adapt import Loader
from psycopg.pq import PipelineStatus, TransactionStatus
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
        text = str(data, "utf-8")
        if len(text) == 29 and text[26] == "+" and text[19] == ".":  # iso_from_pg's fast case
            return f"{text[:10]}T{text[11:]}:00"
        return iso_from_pg(text)


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
    read_cursor: psycopg.Cursor[Any] | None = None  # plain reads of cached plans (postgres.py)
    # an open pipeline that carries BEGIN and a setup to the first statement (postgres.py)
    batch: Any = None
    # BEGIN and the setup of a transaction not sent yet: (read_only, setup) (postgres.py)
    deferred: Any = None
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


def open_pool(name: str, settings: StoreSettings, kwargs: dict[str, Any]) -> FastPool:
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
    return FastPool(pool)


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


IDLE = TransactionStatus.IDLE
PIPELINE_OFF = PipelineStatus.OFF


class FastPool:
    """psycopg_pool with a small LIFO of idle connections in front of it.

    psycopg_pool's getconn and putconn cost about as much as the rest of the adapter's
    work on a primary-key select (a lock, a condition, logging calls, statistics). A
    connection given back here is parked instead, and the next `getconn` takes the most
    recently parked one under one plain lock. psycopg_pool stays the pool; the rules:

    - A thread that finds nothing parked registers as a waiter, under the same lock,
      before it asks psycopg_pool; a connection is parked only while nobody waits, so a
      thread waiting inside psycopg_pool is always handed the next connection given back
      and never misses one sitting here.
    - Only an idle connection is parked: no transaction (`transaction_status` IDLE, which
      a closed or broken connection never is), no pipeline, lent by this pool. Anything
      else goes back to psycopg_pool, which rolls back, closes or replaces it.
    - At most `min_size` connections are parked (read live, so `resize()` holds): the
      pool can still shrink its idle connections down to `min_size`; with `pool_min = 0`
      nothing is parked.
    - A parked connection past its `max_lifetime`, or made before a `drain()`, is given
      back to psycopg_pool (which closes and replaces it) when it is next taken; one
      idle for `POOL_CHECK_IDLE_S` is pinged first, as psycopg_pool's `check` does.
    - `close()` stops parking and closes the parked connections with the pool.
    """

    __slots__ = ("_closed", "_lock", "_parked", "_waiters", "pool")

    def __init__(self, pool: psycopg_pool.ConnectionPool[PooledConnection]) -> None:
        self.pool = pool
        self._lock = threading.Lock()
        self._parked: list[PooledConnection] = []
        self._waiters = 0  # threads inside pool.getconn()
        self._closed = False

    def getconn(self, timeout: float | None = None) -> PooledConnection:
        """Lend a connection: the last one parked, else one from psycopg_pool (`timeout`)."""
        lock, parked = self._lock, self._parked
        while True:
            with lock:
                if not parked:
                    self._waiters += 1  # from now on nothing is parked until we are served
                    break
                conn = parked.pop()
            if self._ready(conn):
                return conn
            self.pool.putconn(conn)  # expired, drained or broken: the pool replaces it
        try:
            return self.pool.getconn(timeout)
        finally:
            with lock:
                self._waiters -= 1

    def putconn(self, conn: PooledConnection) -> None:
        """Take a lent connection back: park it if it is idle and nobody waits."""
        pgconn = conn.pgconn
        if (
            pgconn.transaction_status == IDLE
            and pgconn.pipeline_status == PIPELINE_OFF
            and conn._pool is self.pool  # psycopg_pool's own check, for a stray connection
        ):
            with self._lock:
                if (
                    not self._waiters
                    and not self._closed
                    and len(self._parked) < self.pool.min_size
                ):
                    self._parked.append(conn)
                    return
        self.pool.putconn(conn)

    def _ready(self, conn: PooledConnection) -> bool:
        """Say whether a connection taken from the parked ones may be lent."""
        now = time.monotonic()
        if conn._expire_at <= now or conn._created_at <= self.pool._drained_at:
            return False
        if now - conn.lent_at >= POOL_CHECK_IDLE_S or conn.closed:
            try:
                psycopg_pool.ConnectionPool.check_connection(conn)
            except Exception:
                return False
        conn.lent_at = now
        return True

    @property
    def parked(self) -> int:
        """Return how many idle connections are parked."""
        return len(self._parked)

    def get_stats(self) -> dict[str, int]:
        """Return psycopg_pool's statistics, with `pool_parked`."""
        stats = self.pool.get_stats()
        stats["pool_parked"] = len(self._parked)
        return stats

    def resize(self, min_size: int, max_size: int | None = None) -> None:
        """Resize psycopg_pool; parked connections beyond the new `min_size` go back."""
        self.pool.resize(min_size, max_size)
        with self._lock:
            extra = self._parked[min_size:]
            del self._parked[min_size:]
        for conn in extra:
            self.pool.putconn(conn)

    def close(self) -> None:
        """Close the pool and every parked connection; lent ones close when given back."""
        with self._lock:
            self._closed = True
            parked = self._parked[:]
            self._parked.clear()
        for conn in parked:
            self.pool.putconn(conn)
        self.pool.close()


class Lend:
    """Lend a pooled connection for a `with` block: getconn, then putconn."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, pool: FastPool) -> None:
        self._pool = pool

    def __enter__(self) -> PooledConnection:
        self._conn = self._pool.getconn()
        return self._conn

    def __exit__(self, *exc: object) -> None:
        self._pool.putconn(self._conn)  # the pool rolls back a transaction left open
