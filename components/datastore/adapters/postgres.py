"""PostgreSQL through psycopg 3 and psycopg_pool.

Sessions run in UTC with autocommit off by explicit BEGIN: a Select runs in a
`REPEATABLE READ READ ONLY` transaction (its page and its count see one snapshot, and a
read can never write, as PostgREST's GET), writes in a plain `BEGIN`. SQLSTATEs are kept
as `.code`, with the server's message, detail and hint.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import psycopg
import psycopg_pool

from mobo.exceptions import DatastoreError, QueryError

from .. import dialect
from ..errors import error_for, unavailable
from ..schema import Schema
from .base import Params
from .postgres_schema import load_schema
from .sql import Fetched, SqlAdapter

LOGGER = logging.getLogger(__name__)


class PostgresAdapter(SqlAdapter):
    """A PostgreSQL store; `settings.schema` (default public) is the exposed schema."""

    engine: ClassVar[str] = "postgres"

    _pool: psycopg_pool.ConnectionPool | None = None

    def _open(self) -> dialect.Dialect:
        settings = self.settings
        kwargs = {
            "autocommit": True,
            "connect_timeout": max(1, round(settings.connect_timeout_s)),
            "application_name": f"magflock:{self.name}"[:63],
        }
        # One direct attempt first: a dead server fails now, with the server's own reason.
        psycopg.connect(settings.dsn, **kwargs).close()
        pool = psycopg_pool.ConnectionPool(
            settings.dsn,
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            kwargs=kwargs,
            configure=_configure,
            check=psycopg_pool.ConnectionPool.check_connection,
            timeout=settings.pool_timeout_s,
            name=f"datastore-{self.name}",
            open=False,
        )
        pool.open(wait=True, timeout=settings.connect_timeout_s)
        self._pool = pool
        return dialect.postgres()

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def _connection(self) -> AbstractContextManager[Any]:
        if self._pool is None:
            raise unavailable(f"datastore {self.name} is not connected", hint="call connect()")
        return self._pool.connection()

    def _begin(self, conn: Any, *, read_only: bool) -> None:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if read_only else "BEGIN")

    def _end(self, conn: Any, *, commit: bool) -> None:
        conn.execute("COMMIT" if commit else "ROLLBACK")

    def _run(self, conn: Any, sql: str, params: Params) -> Fetched:
        cursor = conn.execute(sql, params)
        description = cursor.description or ()
        rows = cursor.fetchall() if description else []
        return Fetched(rows, cursor.rowcount, tuple(d.name for d in description))

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


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Set up a new pooled connection: instants come back in UTC."""
    conn.execute("SET TIME ZONE 'UTC'")
