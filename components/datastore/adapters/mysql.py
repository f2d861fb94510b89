"""MySQL and MariaDB through pymysql, with the board's own small pool.

DSN: `mysql://user:password@host:3306/database` (also `mariadb://`; `?unix_socket=`,
`?charset=`). Sessions run in UTC, in strict SQL mode, with utf8mb4 and `FOUND_ROWS`
(an UPDATE's rowcount counts matched rows, as PostgreSQL's does).

Upserts: MySQL has no conflict target. A merge is `ON DUPLICATE KEY UPDATE`; an ignore
is `INSERT IGNORE` inside a savepoint, after which any warning but "duplicate entry"
(MySQL downgrades NOT NULL, foreign key and bad-value errors to warnings under IGNORE)
rolls the savepoint back and is raised as the error it would have been. Either reacts
to a collision on *any* unique key of the table, not only the `on_conflict` one, which is
only checked to be the primary key or a unique index.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import pymysql
from pymysql.constants import CLIENT

from mobo.exceptions import ConfigError, DatastoreError, QueryError

from .. import dialect
from ..bounded_regex import INVALID, SLOW_HINT
from ..compiler import Statement
from ..errors import error_for, unavailable
from ..pool import SimplePool
from ..query import Insert, Resolution
from ..schema import Schema
from ..settings import POOL_CHECK_IDLE_S, StoreSettings
from .base import Params, Result
from .mysql_schema import load_schema
from .sql import Fetched, SqlAdapter

LOGGER = logging.getLogger(__name__)

SESSION = (
    "SET SESSION time_zone = '+00:00', SESSION sql_mode = 'STRICT_ALL_TABLES,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION'"
)
SQLSTATES = {
    1062: "23505",
    1586: "23505",
    1048: "23502",
    1364: "23502",
    1451: "23503",
    1452: "23503",
    1216: "23503",
    1217: "23503",
    4025: "23514",
    3819: "23514",
    1146: "42P01",
    1054: "42703",
    1064: "42601",
    1142: "42501",
    1143: "42501",
    1366: "22P02",
    1292: "22007",
    1406: "22001",
    1264: "22003",
    1365: "22012",
    1213: "40P01",
    1205: "55P03",
    1317: "57014",
    1969: "57014",
    1040: "53300",
    1139: "2201B",  # MariaDB's PCRE2 refused a REGEXP pattern (PostgreSQL's code)
}
REGEX_WARNING = 1139  # ...or, as a warning, stopped one at its match limit
CONNECTION_ERRNOS = {1044, 1045, 1049, 1698, 2002, 2003, 2005, 2006, 2013, 2055}
VERSION = re.compile(r"(\d+)\.(\d+)")


def connect_args(dsn: str, *, store: str) -> dict[str, Any]:
    """Turn a `mysql://` DSN into pymysql.connect() keyword arguments."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("mysql", "mariadb", "mysql+pymysql"):
        raise ConfigError(f"datastores.{store}.dsn must start with mysql:// or mariadb://")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ConfigError(f"datastores.{store}.dsn names no database (mysql://…/<database>)")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"unix_socket", "charset"}
    if unknown:
        raise ConfigError(f"datastores.{store}.dsn: unknown option(s) {', '.join(sorted(unknown))}")
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": database,
        "unix_socket": query.get("unix_socket"),
        "charset": query.get("charset", "utf8mb4"),
    }


class MysqlAdapter(SqlAdapter):
    """A MySQL or MariaDB database (RETURNING needs MariaDB 10.5+)."""

    engine: ClassVar[str] = "mysql"

    _pool: SimplePool[pymysql.connections.Connection] | None = None

    def __init__(self, name: str, settings: StoreSettings) -> None:
        super().__init__(name, settings)
        self._args = connect_args(settings.dsn or "", store=name)
        self._mariadb = True

    def _open(self) -> dialect.Dialect:
        pool = SimplePool(
            self._new_connection,
            close=lambda conn: conn.close(),
            min_size=max(1, self.settings.pool_min),
            max_size=self.settings.pool_max,
            timeout_s=self.settings.pool_timeout_s,
            broken=lambda conn: not conn.open,
            check=_ping,
            check_idle_s=POOL_CHECK_IDLE_S,
        )
        pool.open()
        self._pool = pool
        with pool.connection() as conn:
            info = conn.get_server_info()
        self._mariadb = "mariadb" in info.lower()
        return dialect.mysql(mariadb=self._mariadb, version=server_version(info))

    def _new_connection(self) -> pymysql.connections.Connection:
        return pymysql.connect(
            **self._args,
            autocommit=True,
            connect_timeout=self.settings.connect_timeout_s,
            client_flag=CLIENT.FOUND_ROWS,
            init_command=SESSION,
        )

    def _begin(self, conn: Any, *, read_only: bool) -> None:
        mode = "WITH CONSISTENT SNAPSHOT, READ ONLY" if read_only else "READ WRITE"
        self._run(conn, f"START TRANSACTION {mode}", None)

    def _end(self, conn: Any, *, commit: bool) -> None:
        conn.commit() if commit else conn.rollback()

    def _run(self, conn: Any, sql: str, params: Params, *, names: bool = False) -> Fetched:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            if " REGEXP " in sql and cursor._result is not None and cursor._result.warning_count:
                _refuse_stopped_regex(conn)
            description = cursor.description or ()
            rows = list(cursor.fetchall()) if description else []
            return Fetched(rows, cursor.rowcount, tuple(d[0] for d in description))

    def _load_schema(self, conn: Any) -> Schema:
        run = lambda sql, params: self._run(conn, sql, params or None).rows  # noqa: E731
        return load_schema(run, mariadb=self._mariadb)

    def _describe(self, conn: Any) -> str:
        stats = self._pool.stats() if self._pool else {}
        return (
            f"{conn.get_server_info()}, database {self._args['database']}, "
            f"pool {stats.get('size', 0)}/{self.settings.pool_max}"
        )

    def _insert_batch(self, conn: Any, statement: Statement, query: Insert) -> Result:
        if query.resolution is Resolution.IGNORE:
            return self._insert_ignore(conn, statement)
        result = super()._insert_batch(conn, statement, query)
        if query.resolution is Resolution.MERGE and not statement.outputs:
            # MySQL counts an updated row twice; every input row was inserted or merged.
            return Result([], None, statement.rows)
        return result

    def _insert_ignore(self, conn: Any, statement: Statement) -> Result:
        self._run(conn, "SAVEPOINT mobo_insert_ignore", None)
        result = self._write(conn, statement)
        warnings = self._run(conn, "SHOW WARNINGS", None).rows
        fatal = [(code, message) for _, code, message in warnings if int(code) != 1062]
        if fatal:
            self._run(conn, "ROLLBACK TO SAVEPOINT mobo_insert_ignore", None)
            code, message = fatal[0]
            raise error_for(SQLSTATES.get(int(code)), message, details=f"MySQL error {code}")
        self._run(conn, "RELEASE SAVEPOINT mobo_insert_ignore", None)
        return result

    def _translate(self, exc: BaseException) -> DatastoreError | None:
        if not isinstance(exc, pymysql.err.Error):
            return None
        errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        if errno in CONNECTION_ERRNOS or isinstance(exc, pymysql.err.InterfaceError):
            return unavailable(f"datastore {self.name}: {message or 'connection lost'}")
        code = SQLSTATES.get(errno)
        if code is None and isinstance(exc, pymysql.err.ProgrammingError) and not errno:
            return QueryError(message, code="22P02")
        return error_for(code, message, details=f"MySQL error {errno}" if errno else None)


def server_version(info: str) -> tuple[int, int]:
    """Read (major, minor) from a server banner; MariaDB may prefix it with `5.5.5-`."""
    match = VERSION.search(info.removeprefix("5.5.5-"))
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _ping(conn: Any) -> bool:
    conn.ping(reconnect=False)
    return True


def _refuse_stopped_regex(conn: Any) -> None:
    """Raise 2201B when PCRE2 stopped a REGEXP at its match limit: MariaDB only warns and
    counts the value as not matching, which would leave rows out without a word (a write
    in the same transaction is rolled back with the error)."""
    for _level, code, message in conn.show_warnings():
        if code == REGEX_WARNING:
            raise QueryError(
                "regular expression of a match/imatch filter took too long; simplify the pattern",
                code=INVALID,
                details=f"MariaDB stopped it: {message}",
                hint=SLOW_HINT,
            )
