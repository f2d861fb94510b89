"""PostgreSQL through psycopg 3 and psycopg_pool.

Sessions run in UTC in autocommit mode, with explicit BEGIN where a transaction is
needed: a Select with a count runs in a `REPEATABLE READ READ ONLY` transaction (its page
and its count see one snapshot, and a read can never write, as PostgREST's GET); a Select
without one is a single statement, its own snapshot; writes run in a plain `BEGIN`.
SQLSTATEs are kept as `.code`, with the server's message, detail and hint. The pool and
its cheap checkout are in postgres_pool.py.

A transaction with a setup (the gateway's role and claims) sends BEGIN and the setup with
its first statement in one round trip. When that statement is the last one (`execute_in`)
BEGIN, setup, statement and COMMIT go on libpq's pipeline mode directly (`_run_direct`):
the same messages as psycopg's Pipeline, without its per-statement Python (half the
adapter's CPU on a primary-key read); psycopg's dumpers, loaders, prepared-statement cache
and errors are used as they are.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import psycopg
import psycopg_pool
from psycopg._preparing import Prepare
from psycopg.adapt import Transformer
from psycopg.generators import fetch_many, send
from psycopg.pq import ExecStatus
from psycopg.types.string import TextLoader

from mobo.exceptions import DatastoreError, QueryError

from .. import dialect
from ..errors import SetupFailed, error_for, unavailable
from ..plans import Plan
from ..query import Query, Select
from ..schema import Schema
from .base import Params, Result, Setup
from .postgres_pool import TEMPORAL_TYPES, FastPool, Lend, open_pool
from .postgres_schema import load_schema
from .sql import Fetched, SqlAdapter

LOGGER = logging.getLogger(__name__)

TUPLES_OK = ExecStatus.TUPLES_OK
COMMAND_OK = ExecStatus.COMMAND_OK
FATAL_ERROR = ExecStatus.FATAL_ERROR
PIPELINE_OFF = psycopg.pq.PipelineStatus.OFF
BEGIN, BEGIN_READ_ONLY, COMMIT = b"BEGIN", b"BEGIN READ ONLY", b"COMMIT"
IDLE = psycopg.pq.TransactionStatus.IDLE


class PostgresAdapter(SqlAdapter):
    """A PostgreSQL store; `settings.schema` (default public) is the exposed schema."""

    engine: ClassVar[str] = "postgres"

    _pool: FastPool | None = None

    def _open(self) -> dialect.Dialect:
        settings = self.settings
        assert settings.dsn is not None  # parse_settings() refuses a postgres store without one
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(1, round(settings.connect_timeout_s)),
            "application_name": f"magflock:{self.name}"[:63],
        }
        # One direct attempt first: a dead server fails now, with the server's own reason.
        psycopg.connect(settings.dsn, **kwargs).close()
        pool = open_pool(self.name, settings, kwargs)
        self._pool = pool
        return dialect.postgres()

    def _lend(self, pool: Any) -> AbstractContextManager[Any]:
        return Lend(pool)

    def _select(self, plan: Plan, params: tuple[object, ...]) -> list[dict[str, Any]]:
        pool = self._pool
        if pool is None:
            raise unavailable(f"datastore {self.name} is not connected", hint="call connect()")
        build = plan.shape.text_build  # None: the plan must be read through the statement cursor
        conn = pool.getconn()
        try:  # _run() for a connection that has no pipeline open, inlined
            if build is not None:
                cursor = _read_cursor(conn)
            else:
                cursor, build = conn.statement_cursor(), plan.shape.rows
            fetched = cursor.execute(plan.sql, params).fetchall()  # a SELECT: rows, maybe none
        finally:
            pool.putconn(conn)  # psycopg_pool rolls back or discards what is not idle
        return build(fetched)

    def execute_in(
        self, query: Query, *, setup: Setup | None = None, read_only: bool = False
    ) -> Result:
        """A Select of one statement with a setup (the gateway's reads): what the generic
        path does through its transaction, guard and lending layers, flattened: lend a
        connection, send BEGIN, the setup, the SELECT and COMMIT in one round trip
        (`_run`), roll back and translate on any error, give the connection back."""
        if setup is None or query.__class__ is not Select:
            return super().execute_in(query, setup=setup, read_only=read_only)
        plans = self._plans if self._plans is not None else self._load_plans()
        plan, params, _ = plans.select(query)  # names checked when planned
        if plan.count_sql is not None:
            return super().execute_in(query, setup=setup, read_only=read_only)
        pool = self._pool
        if pool is None:
            raise unavailable(f"datastore {self.name} is not connected", hint="call connect()")
        try:
            conn = pool.getconn()
            try:
                conn.deferred = (read_only, setup)
                conn.pipelined, conn.commit_next, conn.committed = True, True, False
                build = plan.shape.text_build
                try:
                    if build is not None and not conn._prepared._to_flush:
                        # as _select: dates and times read as text by the C loader
                        cursor = _read_cursor(conn)
                        self._run_direct(conn, cursor, plan.sql, params)
                        fetched = cursor.fetchall()
                    else:
                        fetched, build = self._run(conn, plan.sql, params).rows, plan.shape.rows
                except BaseException:
                    self._abort(conn)
                    raise
                conn.pipelined = conn.committed = False  # _end(commit=True): committed
            finally:
                pool.putconn(conn)  # psycopg_pool rolls back or discards what is not idle
        except DatastoreError:
            raise
        except Exception as exc:
            self._reraise(exc)
        rows = build(fetched)
        return Result(rows, None, len(rows))

    def _begin(self, conn: Any, *, read_only: bool) -> None:
        sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if read_only else "BEGIN"
        conn.statement_cursor().execute(sql)

    def _start(self, conn: Any, *, read_only: bool, setup: Setup | None) -> None:
        if setup is None:
            self._begin(conn, read_only=read_only)
            return
        # BEGIN and the setup wait for the first statement (or the COMMIT): they go in one
        # round trip with it, on libpq directly (_run_direct) when the COMMIT goes too, else
        # in a psycopg pipeline (_open_batch) that _flush() ends, reading every result.
        conn.deferred = (read_only, setup)
        conn.pipelined, conn.commit_next, conn.committed = True, False, False

    def _open_batch(self, conn: Any) -> None:
        """Open a psycopg pipeline holding the deferred BEGIN and setup (sent with what follows)."""
        read_only, setup = conn.deferred
        conn.deferred = None
        batch = conn.pipeline()
        batch.__enter__()
        conn.batch = batch
        try:
            conn.control_cursor().execute("BEGIN READ ONLY" if read_only else "BEGIN")
            conn.setup_cursor().execute(setup[0], setup[1])
        except BaseException:
            conn.pipelined = False
            self._rollback(conn)
            raise

    def _commit_with_next(self, conn: Any) -> None:
        if conn.deferred is not None or conn.batch is not None:
            conn.commit_next = True

    def _flush(self, conn: Any) -> None:
        """End the pipeline: send what waits in it and read every result (one round trip)."""
        batch, conn.batch = conn.batch, None
        batch.__exit__(None, None, None)

    def _told(self, conn: Any, exc: psycopg.Error) -> Exception:
        """Return SetupFailed if the setup failed (not what followed it), else `exc`."""
        if conn.setup_cursor().pgresult is None:  # results are read in order
            error = self._translate(exc)
            if error is not None:
                return SetupFailed(error)
        return exc

    def _end(self, conn: Any, *, commit: bool) -> None:
        if not conn.pipelined:
            conn.statement_cursor().execute("COMMIT" if commit else "ROLLBACK")
            return
        conn.pipelined = False
        if commit:
            if conn.deferred is not None:  # no statement ran: BEGIN, setup and COMMIT now
                self._open_batch(conn)
            if conn.batch is not None:
                try:
                    conn.control_cursor().execute("COMMIT")
                    self._flush(conn)
                except psycopg.Error as exc:
                    error = self._told(conn, exc)
                    self._rollback(conn)
                    if error is exc:
                        raise
                    raise error from exc
            elif not conn.committed:
                conn.statement_cursor().execute("COMMIT")
            conn.committed = False
            return
        self._rollback(conn)

    def _rollback(self, conn: Any) -> None:
        """Roll back a pipelined transaction, whatever state the pipeline was left in."""
        if conn.deferred is not None:  # nothing was sent: there is no transaction
            conn.deferred, conn.committed = None, False
            return
        batch, conn.batch, conn.committed = conn.batch, None, False
        if batch is not None:
            try:  # sends what waits, reads all: the first error is already known
                batch.__exit__(None, None, None)
            except psycopg.Error:
                pass
        # psycopg's statement cache may think a statement of the aborted part of the
        # pipeline was prepared when the server skipped it: forget them all (psycopg
        # sends DEALLOCATE ALL before its next statement); errors are rare.
        conn._prepared.clear()
        if conn.info.transaction_status is not IDLE:
            conn.statement_cursor().execute("ROLLBACK")

    def _run(self, conn: Any, sql: str, params: Params, *, names: bool = False) -> Fetched:
        cursor = conn.statement_cursor()
        if conn.deferred is not None and conn.commit_next and not conn._prepared._to_flush:
            self._run_direct(conn, cursor, sql, params)  # BEGIN, setup, it and COMMIT
        else:
            if conn.deferred is not None:  # the first statement of a transaction with a setup
                self._open_batch(conn)
            if conn.batch is None:
                cursor.execute(sql, params)
            else:  # the first statement of a pipelined transaction: send it, and read all
                try:
                    cursor.execute(sql, params)
                    if conn.commit_next:
                        conn.commit_next = False
                        conn.control_cursor().execute("COMMIT")
                        conn.committed = True
                    self._flush(conn)
                except psycopg.Error as exc:
                    error = self._told(conn, exc)
                    if error is exc:
                        raise
                    raise error from exc
        result = cursor.pgresult
        if result is None or result.status != TUPLES_OK:
            return Fetched([], cursor.rowcount)
        # cursor.description builds objects for every column: only raw() wants the names
        found = tuple(d.name for d in cursor.description or ()) if names else ()
        return Fetched(cursor.fetchall(), cursor.rowcount, found)

    def _run_direct(self, conn: Any, cursor: Any, sql: str, params: Params) -> None:
        """Run BEGIN, the deferred setup, one statement and COMMIT in one round trip.

        What the psycopg pipeline does for them, on libpq's pipeline mode directly: the
        same statements and bound parameters, psycopg's dumpers and prepared-statement
        cache (a statement run often enough is prepared), and the statement's result set
        on `cursor`, so its loaders read the rows. A failed BEGIN or setup raises
        SetupFailed; the statement's (or the COMMIT's) error is raised as psycopg's."""
        read_only, setup = conn.deferred
        conn.deferred, conn.commit_next = None, False
        setup_cursor = conn.setup_cursor()
        setup_query = _convert(setup_cursor, setup[0], setup[1])
        query = _convert(cursor, sql, params)
        prepared = conn._prepared
        pgconn = conn.pgconn
        pgconn.enter_pipeline_mode()
        try:
            pgconn.send_query_params(BEGIN_READ_ONLY if read_only else BEGIN, None)
            setup_sent = _send(pgconn, prepared, setup_query, setup_cursor.format)
            query_sent = _send(pgconn, prepared, query, cursor.format)
            pgconn.send_query_params(COMMIT, None)
            pgconn.pipeline_sync()
            groups = conn.wait(_exchange(pgconn, 5 + setup_sent[3] + query_sent[3]))
        finally:
            if pgconn.pipeline_status != PIPELINE_OFF:
                try:
                    pgconn.exit_pipeline_mode()
                except psycopg.Error:  # results left unread: the connection is broken
                    pgconn.finish()
        # groups: BEGIN, [PREPARE], setup, [PREPARE], statement, COMMIT, Sync
        at = 1 + setup_sent[3]
        setup_results, query_results = groups[at], groups[at + 1 + query_sent[3]]
        for index, results in enumerate(groups[:-2]):
            if results[0].status == FATAL_ERROR:
                if index <= at:  # BEGIN or the setup
                    try:
                        setup_cursor._raise_for_result(results[0])
                    except psycopg.Error as exc:
                        error = self._translate(exc)
                        raise (SetupFailed(error) if error is not None else exc) from exc
                cursor._raise_for_result(results[0])
        commit = groups[-2][0]
        if commit.status != COMMAND_OK:
            cursor._raise_for_result(commit)
        _validate(prepared, setup_sent, setup_results)
        _validate(prepared, query_sent, query_results)
        cursor._set_results(query_results)
        conn.committed = True

    def _load_schema(self, conn: Any) -> Schema:
        return load_schema(lambda sql, params: conn.execute(sql, params).fetchall(), self._ns)

    @property
    def _ns(self) -> str:
        return self.settings.schema

    def _describe(self, conn: Any) -> str:
        version = conn.info.server_version
        stats = self._pool.get_stats() if self._pool else {}
        return (
            f"PostgreSQL {version // 10000}.{version % 10000}, schema {self._ns}, "
            f"pool {stats.get('pool_size', 0)}/{self.settings.pool_max}"
        )

    def _translate(self, exc: BaseException) -> DatastoreError | None:
        if isinstance(exc, psycopg_pool.PoolTimeout):
            return unavailable(f"datastore {self.name}: {exc}", code="PGRST003")
        if isinstance(exc, psycopg_pool.PoolClosed):
            return unavailable(f"datastore {self.name} is closed", hint="connect() it")
        if not isinstance(exc, psycopg.Error):
            return None
        if exc.sqlstate is None:
            message = str(exc).strip() or type(exc).__name__
            if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
                return unavailable(f"datastore {self.name}: {message}")
            return QueryError(message)
        diag = exc.diag
        return error_for(
            exc.sqlstate,
            diag.message_primary or str(exc),
            details=diag.message_detail,
            hint=diag.message_hint,
        )


def _read_cursor(conn: Any) -> psycopg.Cursor[Any]:
    """Return (making it the first time) `conn`'s cursor for plain reads of cached plans.

    It loads dates, times and timestamps as PostgreSQL's own text with psycopg's C text
    loader, which the plan's generated row builder respells as `isoformat()` would
    (plans.RowShape.text_build, values.RESPELL_ISO): a plain function call per value,
    cheaper than the statement cursor's IsoLoader, for the same spelling."""
    cursor = conn.read_cursor
    if cursor is not None and not cursor.closed:
        return cursor
    cursor = conn.cursor()
    for type_name in ("date", *TEMPORAL_TYPES):
        cursor.adapters.register_loader(type_name, TextLoader)
    conn.read_cursor = cursor
    return cursor


def _convert(cursor: Any, sql: str, params: Params) -> Any:
    """Make `cursor`'s PostgresQuery of `sql` and `params`, as its execute() does."""
    cursor._reset()
    if cursor._last_query is not sql:
        cursor._tx = Transformer(cursor)
    query = cursor._convert_query(sql, params)
    cursor._query, cursor._last_query = query, sql
    return query


def _send(pgconn: Any, prepared: Any, query: Any, fmt: Any) -> tuple[Any, bytes, Any, int]:
    """Send `query` as psycopg's cursor would; return what `_validate` needs, and how many
    results beyond the statement's own come back (1 when it is prepared first)."""
    prep, name = prepared.get(query)
    preparing = 0
    if prep is Prepare.NO:
        pgconn.send_query_params(
            query.query,
            query.params,
            param_formats=query.formats,
            param_types=query.types,
            result_format=fmt,
        )
    else:
        if prep is Prepare.SHOULD:
            pgconn.send_prepare(name, query.query, param_types=query.types)
            preparing = 1
        pgconn.send_query_prepared(
            name, query.params, param_formats=query.formats, result_format=fmt
        )
    return prep, name, prepared.maybe_add_to_cache(query, prep, name), preparing


def _validate(prepared: Any, sent: tuple[Any, bytes, Any, int], results: list[Any]) -> None:
    prep, name, key, _ = sent
    if key is not None:
        prepared.validate(key, prep, name, results)


def _exchange(pgconn: Any, count: int) -> Any:
    """Flush what was sent and read `count` result groups (the last one the Sync's)."""
    yield from send(pgconn)
    groups: list[Any] = []
    while len(groups) < count:
        groups.append((yield from fetch_many(pgconn)))
    return groups
