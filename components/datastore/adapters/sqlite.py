"""SQLite through the standard library's sqlite3, with a small pool of connections.

The file is opened in WAL mode (readers never wait for the writer) with `busy_timeout`
and foreign keys on. A Select runs in a deferred `BEGIN` (one snapshot for its page and
its count); writes and `transaction()` take the write lock up front with
`BEGIN IMMEDIATE`, so two writers queue on busy_timeout instead of deadlocking.
`:memory:` gets one connection (each connection would be a separate database).
LIKE and ILIKE run as `mobo_like`/`mobo_ilike`, Python functions with PostgreSQL's
semantics: case-sensitive LIKE, Unicode case-folding ILIKE, `\\` escapes. Regular
expressions run as `mobo_match`/`mobo_imatch`, bounded in time and size (bounded_regex.py).
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

from mobo.exceptions import DatastoreError, QueryError

from .. import dialect
from ..bounded_regex import imatch, match, start_statement, take_failure
from ..errors import error_for, unavailable
from ..pool import SimplePool
from ..schema import Schema
from .base import Params
from .sql import Fetched, SqlAdapter
from .sqlite_schema import load_schema

LOGGER = logging.getLogger(__name__)

SQLSTATES = {
    "SQLITE_CONSTRAINT_UNIQUE": "23505",
    "SQLITE_CONSTRAINT_PRIMARYKEY": "23505",
    "SQLITE_CONSTRAINT_NOTNULL": "23502",
    "SQLITE_CONSTRAINT_FOREIGNKEY": "23503",
    "SQLITE_CONSTRAINT_CHECK": "23514",
    "SQLITE_CONSTRAINT": "23000",
    "SQLITE_BUSY": "55P03",
    "SQLITE_LOCKED": "55P03",
    "SQLITE_READONLY": "25006",
    "SQLITE_TOOBIG": "54000",
    "SQLITE_FULL": "53100",
    "SQLITE_CANTOPEN": "08006",
    "SQLITE_NOTADB": "08006",
    "SQLITE_IOERR": "58030",
    "SQLITE_CORRUPT": "XX001",
}
MESSAGES = (("no such table", "42P01"), ("no such column", "42703"), ("syntax error", "42601"))


class SqliteAdapter(SqlAdapter):
    """A SQLite file (or `:memory:`), the board's embedded default store."""

    engine: ClassVar[str] = "sqlite"

    _pool: SimplePool[sqlite3.Connection] | None = None

    def _open(self) -> dialect.Dialect:
        path = self.settings.path or ":memory:"
        memory = path == ":memory:"
        if not memory:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise unavailable(f"datastore {self.name}: cannot create {path}: {exc}") from exc
        pool = SimplePool(
            self._new_connection,
            close=sqlite3.Connection.close,
            min_size=1,
            max_size=1 if memory else self.settings.pool_max,
            timeout_s=self.settings.pool_timeout_s,
            broken=lambda conn: conn.in_transaction,
        )
        pool.open()
        self._pool = pool
        return dialect.sqlite(sqlite3.sqlite_version_info)

    def _new_connection(self) -> sqlite3.Connection:
        path = self.settings.path or ":memory:"
        busy_ms = int(self.settings.busy_timeout_ms)
        conn = sqlite3.connect(
            path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
        conn.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.create_function("mobo_like", 2, like, deterministic=True)
        conn.create_function("mobo_ilike", 2, ilike, deterministic=True)
        conn.create_function("mobo_match", 2, match, deterministic=True)
        conn.create_function("mobo_imatch", 2, imatch, deterministic=True)
        return conn

    def _begin(self, conn: Any, *, read_only: bool) -> None:
        conn.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")

    def _end(self, conn: Any, *, commit: bool) -> None:
        conn.execute("COMMIT" if commit else "ROLLBACK")

    def _run(self, conn: Any, sql: str, params: Params, *, names: bool = False) -> Fetched:
        start_statement()  # a fresh time budget for its regular expressions
        cursor = conn.execute(sql, () if params is None else params)
        rows = cursor.fetchall()
        columns = tuple(d[0] for d in cursor.description or ())
        return Fetched(rows, cursor.rowcount, columns)

    def _load_schema(self, conn: Any) -> Schema:
        return load_schema(lambda sql, params: conn.execute(sql, params).fetchall())

    def _describe(self, conn: Any) -> str:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        return f"SQLite {sqlite3.sqlite_version}, {self.settings.path}, journal {mode}"

    def _translate(self, exc: BaseException) -> DatastoreError | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        message = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and (failure := take_failure(exc)):
            return failure
        if isinstance(exc, sqlite3.ProgrammingError) and "closed" in message:
            return unavailable(f"datastore {self.name}: {message}")
        name = getattr(exc, "sqlite_errorname", "") or ""
        code = SQLSTATES.get(name) or SQLSTATES.get("_".join(name.split("_")[:2]))
        if code is None and isinstance(exc, sqlite3.OperationalError):
            code = next((c for text, c in MESSAGES if message.startswith(text)), None)
        if code is None and isinstance(exc, sqlite3.InterfaceError | sqlite3.ProgrammingError):
            return QueryError(message, code="22P02")
        return error_for(code, message)


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str, fold: bool) -> re.Pattern[str]:
    """Translate a LIKE pattern (`%`, `_`, `\\` escapes) into an anchored regex."""
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if fold else 0))


def like(value: object, pattern: object) -> int | None:
    """SQL `value LIKE pattern`, case-sensitive as in PostgreSQL."""
    if value is None or pattern is None:
        return None
    return int(_like_regex(str(pattern), False).fullmatch(str(value)) is not None)


def ilike(value: object, pattern: object) -> int | None:
    """SQL `value ILIKE pattern`, ignoring case by Unicode rules."""
    if value is None or pattern is None:
        return None
    return int(_like_regex(str(pattern), True).fullmatch(str(value)) is not None)
