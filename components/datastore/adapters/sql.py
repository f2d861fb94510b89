"""What the three SQL adapters share: transactions, execution plans, decoding, errors.

An engine module supplies the driver hooks (`_open`, `_connection`, `_begin`, `_end`,
`_run`, `_load_schema`, `_translate`); this class turns a neutral query into statements
run inside one transaction, so a count and its page, or an emulated RETURNING and its
write, see the same data.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any, NamedTuple, NoReturn

from mobo.exceptions import DatastoreError, DatastoreUnavailable, QueryError

from ..changes import Change, Watch
from ..compiler import Compiler, Statement
from ..dialect import Dialect
from ..errors import SetupFailed, unavailable
from ..plans import Plan, Plans
from ..pool import PoolClosed, PoolTimeout
from ..query import And, Cond, Delete, Insert, Op, Or, Query, Select, Update, Write
from ..schema import Schema, Table
from ..values import jsonable
from .base import Adapter, Health, Params, Result, Setup, Transaction

LOGGER = logging.getLogger(__name__)


class Fetched(NamedTuple):
    """What one statement returned: raw driver rows, affected rows, column names."""

    rows: list[tuple[Any, ...]]
    rowcount: int
    names: tuple[str, ...] = ()


class SqlAdapter(Adapter):
    """Execute neutral queries on a SQL engine through its driver hooks."""

    _pool: Any = None  # the engine's connection pool, set by `_open`

    def __init__(self, name: str, settings: Any) -> None:
        super().__init__(name, settings)
        self._dialect: Dialect | None = None
        self._schema: Schema | None = None
        self._plans: Plans | None = None
        self._lock = threading.Lock()

    # -- driver hooks -------------------------------------------------------------------

    @abstractmethod
    def _open(self) -> Dialect:
        """Open the pool (failing fast if the server is down); return the dialect."""

    def _shutdown(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            self._pool.close()

    def _connection(self) -> AbstractContextManager[Any]:
        """Lend a pooled connection."""
        if self._pool is None:
            raise unavailable(f"datastore {self.name} is not connected", hint="call connect()")
        return self._lend(self._pool)

    def _lend(self, pool: Any) -> AbstractContextManager[Any]:
        """Check a connection out of the engine's pool (`_open` sets `self._pool`)."""
        return pool.connection()

    @abstractmethod
    def _begin(self, conn: Any, *, read_only: bool) -> None:
        """Start a transaction (read-only ones may take a consistent snapshot)."""

    @abstractmethod
    def _end(self, conn: Any, *, commit: bool) -> None:
        """Commit or roll back."""

    @abstractmethod
    def _run(self, conn: Any, sql: str, params: Params, *, names: bool = False) -> Fetched:
        """Execute one statement and fetch what it returns (column names if `names`)."""

    @abstractmethod
    def _load_schema(self, conn: Any) -> Schema:
        """Introspect the store."""

    @abstractmethod
    def _translate(self, exc: BaseException) -> DatastoreError | None:
        """Return the board's error for a driver error, None for anything else."""

    def _describe(self, conn: Any) -> str:
        """Return a one-line description of the server for health()."""
        return self.engine

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def dialect(self) -> Dialect:
        """Return the engine's dialect, known once connected."""
        if self._dialect is None:
            raise unavailable(f"datastore {self.name} is not connected", hint="call connect()")
        return self._dialect

    def connect(self) -> None:
        try:
            with self._guard():
                self._dialect = self._open()
        except DatastoreUnavailable:
            raise
        except DatastoreError as exc:  # whatever stops the pool opening: the store is not there
            raise unavailable(f"datastore {self.name}: {exc}", hint=exc.hint) from exc
        LOGGER.info("datastore %s (%s) connected", self.name, self.engine)
        self.refresh_schema()

    def close(self) -> None:
        if self._dialect is not None:
            with self._guard():
                self._shutdown()
            LOGGER.info("datastore %s closed", self.name)

    def health(self) -> Health:
        start = time.perf_counter()
        try:
            with self._guard(), self._connection() as conn:
                self._run(conn, "SELECT 1", None)
                detail = self._describe(conn)
        except DatastoreError as exc:
            return Health(False, _ms_since(start), str(exc))
        return Health(True, _ms_since(start), detail)

    def introspect(self) -> Schema:
        return self._schema if self._schema is not None else self.refresh_schema()

    def refresh_schema(self) -> Schema:
        with self._transaction_on(read_only=True) as conn:
            schema = self._load_schema(conn)
        with self._lock:
            self._schema = schema
            self._plans = Plans(Compiler(self.dialect, schema))
        LOGGER.debug("datastore %s: %d tables and views", self.name, len(schema.tables))
        return schema

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def transaction(
        self, *, setup: Setup | None = None, read_only: bool = False
    ) -> Iterator[Transaction]:
        with self._transaction_on(read_only=read_only, setup=setup) as conn:
            tx = Transaction(self, conn)
            tx.widen = setup is None
            try:
                yield tx
            finally:
                tx.active = False
        self._notify(tx.changes)  # committed: only now do the changes exist for others

    def execute_in(
        self, query: Query, *, setup: Setup | None = None, read_only: bool = False
    ) -> Result:
        with self.transaction(setup=setup, read_only=read_only) as tx:
            if self._one_statement(query):
                self._commit_with_next(tx.connection)
            return self.execute(query, tx=tx)

    def _one_statement(self, query: Query) -> bool:
        """Whether `query` runs as exactly one statement (so it may carry the COMMIT)."""
        if isinstance(query, Select):
            plans = self._plans if self._plans is not None else self._load_plans()
            return plans.select(query)[0].count_sql is None
        if isinstance(query, Insert):
            return len(query.rows) <= 1
        if isinstance(query, Update):
            return query.returning is None or self.dialect.supports_returning("update")
        return True

    def _commit_with_next(self, conn: Any) -> None:
        """Send COMMIT right after the connection's next statement (engines that can)."""

    def _start(self, conn: Any, *, read_only: bool, setup: Setup | None) -> None:
        """Begin a transaction and run its setup (PostgreSQL pipelines them)."""
        self._begin(conn, read_only=read_only)
        if setup is not None:
            try:
                self._run(conn, setup[0], setup[1])
            except Exception as exc:
                self._abort(conn)
                error = self._error(exc)
                raise (SetupFailed(error) if isinstance(error, DatastoreError) else exc) from exc

    @contextmanager
    def _transaction_on(self, *, read_only: bool, setup: Setup | None = None) -> Iterator[Any]:
        with self._guard(), self._connection() as conn:
            self._start(conn, read_only=read_only, setup=setup)
            try:
                yield conn
            except BaseException:
                self._abort(conn)
                raise
            self._end(conn, commit=True)

    def _abort(self, conn: Any) -> None:
        try:
            self._end(conn, commit=False)
        except Exception as exc:  # the connection is likely dead; the pool discards it
            LOGGER.warning("datastore %s: rollback failed: %s", self.name, exc)

    def _connection_of(self, tx: Transaction) -> Any:
        if tx.adapter is not self or not tx.active:
            raise QueryError(f"that transaction is not open on datastore {self.name}")
        return tx.connection

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Translate driver errors raised in the block into DatastoreErrors."""
        try:
            yield
        except DatastoreError:
            raise
        except Exception as exc:
            self._reraise(exc)

    def _reraise(self, exc: Exception) -> NoReturn:
        """Raise the board's error for driver error `exc` (from it), else `exc` itself."""
        error = self._error(exc)
        if error is exc:
            raise exc
        raise error from exc

    def _error(self, exc: Exception) -> Exception:
        """Return the board's error for a driver error (`exc` itself for anything else)."""
        if isinstance(exc, PoolTimeout):
            return unavailable(f"datastore {self.name}: {exc}", code="PGRST003")
        if isinstance(exc, PoolClosed):
            return unavailable(f"datastore {self.name} is closed", hint="connect() it")
        return self._translate(exc) or exc

    # -- queries ------------------------------------------------------------------------

    def execute(self, query: Query, *, tx: Transaction | None = None) -> Result:
        if query.__class__ is not Select and not isinstance(query, Select):
            return self._change(query, tx)
        plans = self._plans if self._plans is not None else self._load_plans()
        plan, params, count_params = plans.select(query)  # names checked when planned
        if tx is not None or plan.count_sql is not None:
            return self._read(plan, params, count_params, tx)
        # One SELECT is its own snapshot, and a neutral Select cannot write (it names only
        # columns and casts): it needs no BEGIN/COMMIT round trips around it.
        try:  # _guard() inlined: this is the hot path
            rows = self._select(plan, params)
        except DatastoreError:
            raise
        except Exception as exc:
            self._reraise(exc)
        return Result(rows, None, len(rows))

    def _read(
        self,
        plan: Plan,
        params: tuple[object, ...],
        count_params: tuple[object, ...],
        tx: Transaction | None,
    ) -> Result:
        """Run a Select's plan in `tx`, or with its count in a read-only transaction."""
        if tx is not None:
            conn = self._connection_of(tx)
            with self._guard():
                return self._run_plan(conn, plan, params, count_params)
        with self._transaction_on(read_only=True) as conn:
            return self._run_plan(conn, plan, params, count_params)

    def _select(self, plan: Plan, params: tuple[object, ...]) -> list[dict[str, Any]]:
        """Run a plan's one SELECT on a connection of its own; return its rows (the hot path)."""
        with self._connection() as conn:
            fetched = self._run(conn, plan.sql, params).rows
        return plan.shape.rows(fetched)

    def _load_plans(self) -> Plans:
        self.introspect()
        assert self._plans is not None
        return self._plans

    def _run_plan(
        self, conn: Any, plan: Plan, params: tuple[object, ...], count_params: tuple[object, ...]
    ) -> Result:
        rows = plan.shape.rows(self._run(conn, plan.sql, params).rows)
        count = None
        if plan.count_sql is not None:
            count = int(self._run(conn, plan.count_sql, count_params).rows[0][0])
        return Result(rows, count, len(rows))

    def _change(self, query: Write, tx: Transaction | None) -> Result:
        compiler = Compiler(self.dialect, self.introspect())
        table = compiler.check(query)  # every name resolved before any SQL is built
        watch = None
        if self._observers:
            widen = tx is None or tx.widen
            watch = Watch(self.name, self.dialect, table, query, widen=widen)
        run = watch.query if watch is not None else query
        if tx is not None:
            conn = self._connection_of(tx)
            with self._guard():
                result = self._dispatch(compiler, run, conn)
            return _observed(watch, result, tx.changes)
        with self._transaction_on(read_only=False) as conn:
            result = self._dispatch(compiler, run, conn)
        changes: list[Change] = []
        result = _observed(watch, result, changes)
        self._notify(changes)
        return result

    def raw(self, sql: str, params: Params = None, *, tx: Transaction | None = None) -> Result:
        if tx is not None:
            conn = self._connection_of(tx)
            with self._guard():
                return self._raw(conn, sql, params)
        with self._transaction_on(read_only=False) as conn:
            return self._raw(conn, sql, params)

    def _raw(self, conn: Any, sql: str, params: Params) -> Result:
        fetched = self._run(conn, sql, params, names=True)
        rows = [dict(zip(fetched.names, map(jsonable, row), strict=True)) for row in fetched.rows]
        return Result(rows, None, fetched.rowcount)

    def _dispatch(self, compiler: Compiler, query: Write, conn: Any) -> Result:
        if isinstance(query, Insert):
            return self._insert(compiler, query, conn)
        if isinstance(query, Delete):
            return self._write(conn, compiler.delete(query))
        if not query.values:
            return Result()
        if query.returning is not None and not self.dialect.supports_returning("update"):
            return self._update_returning(compiler, query, conn)
        return self._write(conn, compiler.update(query))

    def _insert(self, compiler: Compiler, query: Insert, conn: Any) -> Result:
        rows: list[dict[str, Any]] = []
        total = 0
        for statement in compiler.insert(query):
            result = self._insert_batch(conn, statement, query)
            rows.extend(result.rows)
            total += result.rowcount
        return Result(rows, None, total)

    def _insert_batch(self, conn: Any, statement: Statement, query: Insert) -> Result:
        """Run one INSERT statement; engines override to fix up upsert semantics."""
        return self._write(conn, statement)

    def _update_returning(self, compiler: Compiler, query: Update, conn: Any) -> Result:
        """Emulate UPDATE ... RETURNING: lock the keys, update them, read them back."""
        table = compiler.schema.table(query.table)
        keys_statement = compiler.keys(query.table, query.where)
        keys = self._run(conn, keys_statement.sql, keys_statement.params).rows
        rows: list[dict[str, Any]] = []
        size = max(1, self.dialect.max_params // max(1, len(table.primary_key) * 2))
        for start in range(0, len(keys), size):
            batch = keys[start : start + size]
            update = replace(query, where=_keys_filter(table, batch), returning=None)
            statement = compiler.update(update)
            self._run(conn, statement.sql, statement.params)
            moved = [_moved_key(table, query, key) for key in batch]
            select = Select(query.table, query.returning or (), _keys_filter(table, moved))
            rows.extend(self._fetch(conn, compiler.select(select)))
        return Result(rows, None, len(keys))

    def _write(self, conn: Any, statement: Statement) -> Result:
        fetched = self._run(conn, statement.sql, statement.params)
        if not statement.outputs:
            return Result([], None, fetched.rowcount)
        rows = self._decode(statement, fetched.rows)
        return Result(rows, None, len(rows))

    def _fetch(self, conn: Any, statement: Statement) -> list[dict[str, Any]]:
        return self._decode(statement, self._run(conn, statement.sql, statement.params).rows)

    def _decode(
        self, statement: Statement, rows: Sequence[tuple[Any, ...]]
    ) -> list[dict[str, Any]]:
        decode = self.dialect.codec.decode
        outputs = statement.outputs
        return [
            {o.key: decode(o.column, value) for o, value in zip(outputs, row, strict=True)}
            for row in rows
        ]


def _observed(watch: Watch | None, result: Result, changes: list[Change]) -> Result:
    """Split an observed write's result into the caller's part and its changes."""
    if watch is None:
        return result
    rows, rowcount, found = watch.split(result.rows, result.rowcount)
    changes.extend(found)
    return Result(rows, result.count, rowcount)


def _keys_filter(table: Table, keys: Sequence[Sequence[object]]) -> Or:
    return Or(
        tuple(
            And(
                tuple(
                    Cond(name, Op.EQ, value)
                    for name, value in zip(table.primary_key, key, strict=True)
                )
            )
            for key in keys
        )
    )


def _moved_key(table: Table, query: Update, key: Sequence[object]) -> tuple[object, ...]:
    """Return a row's primary key after the update (which may set key columns)."""
    return tuple(
        query.values.get(name, old) for name, old in zip(table.primary_key, key, strict=True)
    )


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
