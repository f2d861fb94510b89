"""How MagBridge reads and writes batches on each engine's driver connection.

The adapters run one statement at a time and return JSON-friendly dicts; a bulk copy
needs the driver itself: plain tuples, COPY on PostgreSQL (psycopg's `cursor.copy`),
`executemany` elsewhere (pymysql turns it into multi-row INSERTs; sqlite3 steps one
prepared INSERT, SQLite's fastest path). Connections come from the adapter's pool
inside `adapter.transaction()`; every identifier is quoted by the adapter's dialect and
every value is bound.
"""

# ruff: noqa: S608  -- SQL here is built from quoted identifiers only; values are bound

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

from components.datastore import Adapter
from components.datastore.schema import Kind

from .typeinfo import TypeInfo

Row = tuple[object, ...]
Columns = Sequence[Sequence[object]]
PG_AS_TEXT = {
    Kind.DECIMAL,
    Kind.JSON,
    Kind.UUID,
    Kind.DATE,
    Kind.TIME,
    Kind.TIMESTAMP,
    Kind.TIMESTAMPTZ,
    Kind.ARRAY,
    Kind.OTHER,
}
# the session settings PostgreSQL's text output depends on, for one read transaction
PG_READ_SETTINGS = (
    "SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true), "
    "set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '3', true)"
)
PG_CONTEXT = re.compile(r"line (\d+)(?:, column (.+?)(?::|$))?")
MYSQL_COLUMN = re.compile(
    r"column (?:'([^']+)'|`[^`]*`\.`[^`]*`\.`((?:[^`]|``)+)`|`([^`]+)`)", re.IGNORECASE
)
SQLITE_COLUMN = re.compile(r"failed: [^.\s]+\.(\S+)")


class Failure(NamedTuple):
    """What a driver error says about the row that caused it."""

    index: int | None  # the row within the batch, when the engine said
    column: str | None
    code: str  # SQLSTATE
    message: str


class Driver:
    """One engine's SQL spelling and driver calls for a bulk copy."""

    engine: ClassVar[str] = ""
    savepoints: ClassVar[bool] = True  # a failed batch is retried row by row to find the row

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.dialect = adapter.dialect  # type: ignore[attr-defined]
        self.mark = self.dialect.placeholder

    def quote(self, name: str) -> str:
        return self.dialect.quote_ident(name)

    def table(self, name: str) -> str:
        """Return the table's quoted (on PostgreSQL, schema-qualified) name."""
        return self.quote(name)

    def select_expr(self, name: str, info: TypeInfo) -> str:
        return self.quote(name)

    def select(
        self,
        table: str,
        columns: Sequence[tuple[str, TypeInfo]],
        key: Sequence[str],
        *,
        after: bool,
    ) -> str:
        """Return the keyset query for one batch: rows after a key, in key order."""
        exprs = ", ".join(self.select_expr(name, info) for name, info in columns)
        order = ", ".join(self.quote(k) for k in key)
        where = f" WHERE {self._after(key)}" if after else ""
        return f"SELECT {exprs} FROM {self.table(table)}{where} ORDER BY {order} LIMIT {self.mark}"

    def _after(self, key: Sequence[str]) -> str:
        """`(k1 > ?) OR (k1 = ? AND k2 > ?) ...`: portable, and index-friendly everywhere."""
        return self._beyond(key, ">", ">")

    def _beyond(self, key: Sequence[str], op: str, last_op: str) -> str:
        """Rows past a key in key order: `(k1 op ?) OR (k1 = ? AND k2 last_op ?) ...`."""
        ors = []
        for i, name in enumerate(key):
            ands = [f"{self.quote(k)} = {self.mark}" for k in key[:i]]
            ands.append(f"{self.quote(name)} {last_op if i == len(key) - 1 else op} {self.mark}")
            ors.append("(" + " AND ".join(ands) + ")")
        return " OR ".join(ors)

    def boundary(
        self,
        table: str,
        columns: Sequence[tuple[str, TypeInfo]],
        key: Sequence[str],
        *,
        after: bool,
    ) -> str:
        """Return the query of the key `OFFSET n` rows after a key (or from the start)."""
        info = dict(columns)
        exprs = ", ".join(self.select_expr(k, info[k]) for k in key)
        order = ", ".join(self.quote(k) for k in key)
        where = f" WHERE {self._after(key)}" if after else ""
        return (
            f"SELECT {exprs} FROM {self.table(table)}{where} ORDER BY {order} "
            f"LIMIT 1 OFFSET {self.mark}"
        )

    def select_range(
        self,
        table: str,
        columns: Sequence[tuple[str, TypeInfo]],
        key: Sequence[str],
        after: bool,
        upto: bool,
    ) -> str:
        """Return the query of the rows after a key and up to another, in key order."""
        exprs = ", ".join(self.select_expr(name, info) for name, info in columns)
        order = ", ".join(self.quote(k) for k in key)
        conds = self.range_where(key, after=after, upto=upto)
        where = f" WHERE {conds}" if conds else ""
        return f"SELECT {exprs} FROM {self.table(table)}{where} ORDER BY {order}"

    def range_where(self, key: Sequence[str], *, after: bool, upto: bool) -> str:
        """Return the condition of `select_range` (parameters: `after_params`, then
        `upto_params`), or "" for no bound."""
        conds = [f"({self._after(key)})"] if after else []
        if upto:
            conds.append(f"({self._upto(key)})")
        return " AND ".join(conds)

    def _upto(self, key: Sequence[str]) -> str:
        """`k1 <= ?` for one column; `(k1 < ?) OR (k1 = ? AND k2 <= ?) ...` for several."""
        return self._beyond(key, "<", "<=")

    def upto_params(self, upto: Sequence[object]) -> list[object]:
        """Return the parameters of `_upto`: the same shape as `_after`'s."""
        return self.after_params(upto)

    @staticmethod
    def after_params(last: Sequence[object]) -> list[object]:
        """Return the parameters of `_after` for the last key read."""
        params: list[object] = []
        for i in range(len(last)):
            params.extend(last[: i + 1])
        return params

    def insert(self, table: str, columns: Sequence[str]) -> str:
        names = ", ".join(self.quote(c) for c in columns)
        marks = ", ".join([self.mark] * len(columns))
        return f"INSERT INTO {self.table(table)} ({names}) VALUES ({marks})"

    def count(self, table: str) -> str:
        return f"SELECT COUNT(*) FROM {self.table(table)}"

    def probe(self, table: str) -> str:
        """Return a query that finds one row of the table, if it has any."""
        return f"SELECT 1 FROM {self.table(table)} LIMIT 1"

    def empty(self, conn: Any, table: str) -> None:
        """Delete every row of the table, inside the caller's transaction."""
        self.run(conn, f"DELETE FROM {self.table(table)}")

    # -- driver calls -------------------------------------------------------------------

    def begin_read(self, conn: Any) -> None:
        """Prepare a read transaction (PostgreSQL: the settings its text output needs)."""

    def fetch(self, conn: Any, sql: str, params: Sequence[object]) -> list[Row]:
        raise NotImplementedError

    def run(self, conn: Any, sql: str, params: Sequence[object] = ()) -> None:
        raise NotImplementedError

    def write(self, conn: Any, table: str, names: Sequence[str], columns: Columns) -> None:
        """Write a batch given as columns of driver parameters."""
        raise NotImplementedError

    def failure(self, exc: BaseException) -> Failure | None:
        """Read the row, column, SQLSTATE and message of a driver error (None: not one)."""
        return None


class PostgresDriver(Driver):
    engine = "postgres"
    savepoints = False  # COPY's error context names the line and the column

    def table(self, name: str) -> str:
        namespace = self.adapter.introspect().namespace
        return f"{self.quote(namespace)}.{self.quote(name)}" if namespace else self.quote(name)

    def select_expr(self, name: str, info: TypeInfo) -> str:
        # psycopg would build Decimal, UUID and datetime objects, or fail on dates past
        # year 9999; PostgreSQL's own text is exact, and parsed here only where needed
        quoted = self.quote(name)
        return f"{quoted}::text" if info.kind in PG_AS_TEXT else quoted

    def begin_read(self, conn: Any) -> None:
        conn.execute(PG_READ_SETTINGS)

    def empty(self, conn: Any, table: str) -> None:
        self.run(conn, f"TRUNCATE {self.table(table)}")

    def fetch(self, conn: Any, sql: str, params: Sequence[object]) -> list[Row]:
        return conn.execute(sql, params).fetchall()

    def run(self, conn: Any, sql: str, params: Sequence[object] = ()) -> None:
        conn.execute(sql, params)

    def write(self, conn: Any, table: str, names: Sequence[str], columns: Columns | bytes) -> None:
        """COPY columns of text fields (`pgcopy.py`), sent as one block of bytes (or the
        block itself, already made)."""
        quoted = ", ".join(self.quote(c) for c in names)
        statement = f"COPY {self.table(table)} ({quoted}) FROM STDIN"
        if isinstance(columns, bytes):
            data = columns
        else:
            lines = map("\t".join, zip(*columns, strict=True))
            data = ("\n".join(lines) + "\n").encode()  # type: ignore[arg-type]
        with conn.cursor() as cursor, cursor.copy(statement, ()) as copy:
            copy.write(data)

    def failure(self, exc: BaseException) -> Failure | None:
        import psycopg

        if not isinstance(exc, psycopg.Error) or exc.sqlstate is None:
            return None
        match = PG_CONTEXT.search(exc.diag.context or "")
        index = int(match.group(1)) - 1 if match else None
        column = (match.group(2) if match else None) or exc.diag.column_name
        return Failure(index, column, exc.sqlstate, exc.diag.message_primary or str(exc))


class SqliteDriver(Driver):
    engine = "sqlite"

    def fetch(self, conn: Any, sql: str, params: Sequence[object]) -> list[Row]:
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "decode" not in str(exc):
                raise
        # Text that is not UTF-8: read the batch as bytes so its row can be named.
        conn.text_factory = bytes
        try:
            rows = conn.execute(sql, params).fetchall()
        finally:
            conn.text_factory = str
        return [tuple(map(_utf8_or_bytes, row)) for row in rows]

    def run(self, conn: Any, sql: str, params: Sequence[object] = ()) -> None:
        conn.execute(sql, params)

    def write(self, conn: Any, table: str, names: Sequence[str], columns: Columns) -> None:
        conn.executemany(self.insert(table, names), zip(*columns, strict=True))

    def failure(self, exc: BaseException) -> Failure | None:
        from components.datastore.adapters.sqlite import SQLSTATES

        if not isinstance(exc, sqlite3.Error):
            return None
        match = SQLITE_COLUMN.search(str(exc))
        name = getattr(exc, "sqlite_errorname", "") or ""
        code = SQLSTATES.get(name, "22000")
        return Failure(None, match.group(1) if match else None, code, str(exc))


class MysqlDriver(Driver):
    engine = "mysql"

    def fetch(self, conn: Any, sql: str, params: Sequence[object]) -> list[Row]:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def run(self, conn: Any, sql: str, params: Sequence[object] = ()) -> None:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)

    def write(self, conn: Any, table: str, names: Sequence[str], columns: Columns) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(self.insert(table, names), list(zip(*columns, strict=True)))

    def failure(self, exc: BaseException) -> Failure | None:
        import pymysql

        from components.datastore.adapters.mysql import SQLSTATES

        if not isinstance(exc, pymysql.err.MySQLError) or len(exc.args) < 2:
            return None
        errno, message = exc.args[0], str(exc.args[1])
        match = MYSQL_COLUMN.search(message)
        column = next((g for g in match.groups() if g), None) if match else None
        return Failure(None, column, SQLSTATES.get(errno, "22000"), message)


def _utf8_or_bytes(value: object) -> object:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return value
    return value


DRIVERS: dict[str, type[Driver]] = {
    "postgres": PostgresDriver,
    "sqlite": SqliteDriver,
    "mysql": MysqlDriver,
}


def driver_for(adapter: Adapter) -> Driver:
    """Return the bulk driver of an adapter's engine."""
    return DRIVERS[adapter.engine](adapter)
