"""One PostgreSQL store's capture thread: outbox rows to the Redis stream, at least once.

    capture = PostgresCapture("main", dsn, "public", redis_client, names.changes(keys),
                              CaptureSettings())
    capture.start()        # installs the triggers, LISTENs, drains what accumulated
    capture.stop()

The loop: connect (autocommit), install (idempotent), LISTEN mobo_realtime, then drain
the outbox; after each notification, and at least every POLL_S without one, drain
again. A drain, in one transaction: take the store's advisory lock (one drainer per
schema, so the stream keeps the outbox's order), read up to BATCH rows in id order,
XADD them in one pipelined round trip, DELETE them, COMMIT. A crash between the XADD and
the COMMIT leaves the rows in the outbox, so they are sent again (same `id`): at least
once, never lost. When Postgres or Redis goes away the transaction rolls back and the
loop reconnects with capped backoff.

Tables created later get the trigger from the event trigger (a superuser installed it),
else from the rescan every `rescan_s`, or at once after `rescan()` (`ChangeCapture`
calls it on `schema.reloaded`); rows written before a rescan attaches the trigger are
not captured.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import redis

from mobo.kernel.bus import pipelined

from ..adapters.postgres_schema import load_schema
from ..schema import Table
from . import entry, triggers
from .settings import CaptureSettings

LOGGER = logging.getLogger(__name__)

BATCH = 500  # outbox rows per drain transaction (one pipelined XADD round trip)
POLL_S = 0.5  # wake-up without a notification: bounds stop() and a lost NOTIFY's delay
RESCAN_S = 5.0  # attach the trigger to new tables this often without an event trigger
RESCAN_WITH_EVENT_TRIGGER_S = 60.0
BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 10.0
CONNECT_TIMEOUT_S = 5

_ERRORS = (psycopg.Error, redis.RedisError, OSError)
_SELECT = (
    "SELECT id, change_id::text, source_table, op, pk::text, new_row::text, old_row::text,"
    " too_large, commit_time FROM mobo_realtime.outbox WHERE source_schema = %s"
    " ORDER BY id LIMIT %s"
)


class PostgresCapture:
    """Forward one Postgres store's captured changes to the stream, in a daemon thread."""

    def __init__(
        self,
        store: str,
        dsn: str,
        schema: str,
        client: redis.Redis,
        stream: str,
        settings: CaptureSettings,
        *,
        after_xadd: Callable[[], None] | None = None,
    ) -> None:
        self.store, self.schema = store, schema
        self._dsn = dsn
        self._redis = client
        self._stream = stream
        self._settings = settings
        self._after_xadd = after_xadd  # tests: what a crash between XADD and DELETE does
        self._stop = threading.Event()
        self._rescan = threading.Event()
        self._thread: threading.Thread | None = None
        self._tables: dict[str, Table] = {}
        self._missing: set[str] = set()  # tables of outbox rows that no longer exist
        self.ready = False
        self.forwarded = 0
        self.last_error = ""

    # -- control

    def start(self) -> None:
        """Start the thread; returns at once."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"rt-capture-{self.store}"
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it (a drain in flight finishes or rolls back)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def rescan(self) -> None:
        """Attach the trigger to tables created since the last scan, soon."""
        self._rescan.set()

    # -- the loop

    def _run(self) -> None:
        backoff, down_since = BACKOFF_MIN_S, None
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    every = self._setup(conn)
                    if down_since is not None:
                        LOGGER.info("capture %s: running again", self.store)
                    down_since, backoff = None, BACKOFF_MIN_S
                    self._serve(conn, every)
            except _ERRORS as exc:
                self.ready = False
                self.last_error = " ".join(str(exc).split()) or type(exc).__name__
                if down_since is None:
                    down_since = time.monotonic()
                    LOGGER.warning(
                        "capture %s: %s; retrying with backoff up to %.0fs (changes wait "
                        "in the outbox)",
                        self.store,
                        self.last_error,
                        BACKOFF_MAX_S,
                    )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        self.ready = False

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name=f"magflock:realtime:{self.store}"[:63],
        )

    def _setup(self, conn: psycopg.Connection[Any]) -> float:
        """Install capture, LISTEN; return the rescan interval."""
        done = triggers.install(conn, self.schema, max_row_bytes=self._settings.max_row_bytes)
        if done["attached"]:
            LOGGER.info("capture %s: trigger on %s", self.store, ", ".join(done["attached"]))
        conn.execute(f"LISTEN {triggers.CHANNEL}")
        self._load_tables(conn)
        self.ready, self.last_error = True, ""
        return RESCAN_WITH_EVENT_TRIGGER_S if done["event_trigger"] else RESCAN_S

    def _serve(self, conn: psycopg.Connection[Any], every: float) -> None:
        next_scan = time.monotonic() + every
        while not self._stop.is_set():
            while self._drain(conn) == BATCH and not self._stop.is_set():
                pass
            for _ in conn.notifies(timeout=POLL_S, stop_after=1):
                pass
            if self._rescan.is_set() or time.monotonic() >= next_scan:
                self._rescan.clear()
                attached = triggers.attach_all(conn, self.schema)
                if attached:
                    LOGGER.info("capture %s: trigger on %s", self.store, ", ".join(attached))
                    self._load_tables(conn)
                next_scan = time.monotonic() + every

    def _drain(self, conn: psycopg.Connection[Any]) -> int:
        """Move one batch from the outbox to the stream; return how many rows moved."""
        with conn.transaction():
            locked = conn.execute(
                "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))",
                (triggers.LOCK_KEY & 0x7FFFFFFF, self.schema),
            ).fetchone()
            if not locked or not locked[0]:
                return 0  # another process drains this schema now
            rows = conn.execute(_SELECT, (self.schema, BATCH)).fetchall()
            if not rows:
                return 0
            unknown = {row[2] for row in rows} - set(self._tables) - self._missing
            if unknown:  # created since the last load (or dropped since the change)
                self._load_tables(conn)
                self._missing |= unknown - set(self._tables)
            maxlen = self._settings.stream_maxlen
            pipelined(
                self._redis, *(entry.xadd(self._stream, maxlen, self._entry(r)) for r in rows)
            )
            if self._after_xadd is not None:
                self._after_xadd()
            ids = [row[0] for row in rows]
            conn.execute("DELETE FROM mobo_realtime.outbox WHERE id = ANY(%s)", (ids,))
        self.forwarded += len(rows)
        return len(rows)

    def _entry(self, row: tuple[Any, ...]) -> dict[str, Any]:
        _id, change_id, table, op, pk, new, old, too_large, commit_time = row
        shape = self._tables.get(table)
        return entry.entry(
            change_id,
            self.store,
            table,
            op,
            new=entry.decode_row(new, shape),
            old=entry.decode_row(old, shape),
            pk=entry.decode_row(pk, shape),
            commit_time=commit_time,
            too_large=too_large,
        )

    def _load_tables(self, conn: psycopg.Connection[Any]) -> None:
        schema = load_schema(lambda sql, params: conn.execute(sql, params).fetchall(), self.schema)
        self._tables = dict(schema.tables)
