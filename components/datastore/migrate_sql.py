"""The SQL behind migrations, per engine: the `mobo_migrations` table and the lock.

The table is created in the store's exposed schema on PostgreSQL (`settings.schema`),
and migration files run with that schema first on the search_path.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from mobo.exceptions import DatastoreError, MigrationError

from .adapters.base import Adapter, Transaction

if TYPE_CHECKING:
    from .migrate import Migration

TABLE = "mobo_migrations"
LOCK_NAME = "mobo_migrations"
LOCK_KEY = zlib.crc32(LOCK_NAME.encode())  # pg_advisory_xact_lock key (fits a bigint)
MYSQL_LOCK_TIMEOUT_S = 60
APPLIED_AT = {
    "postgres": "timestamptz NOT NULL DEFAULT now()",
    "sqlite": "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    "mysql": "TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)",
}


def table(adapter: Adapter) -> str:
    """Return the quoted (and on PostgreSQL schema-qualified) name of the table."""
    quote = adapter.dialect.quote_ident  # type: ignore[attr-defined]
    if adapter.engine == "postgres":
        return f"{quote(adapter.settings.schema)}.{quote(TABLE)}"
    return quote(TABLE)


def create_table_sql(adapter: Adapter) -> str:
    """Return `CREATE TABLE IF NOT EXISTS mobo_migrations (...)` for the engine."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table(adapter)} ("
        "card VARCHAR(64) NOT NULL DEFAULT '', "
        "name VARCHAR(255) NOT NULL, "
        "checksum CHAR(64) NOT NULL, "
        f"applied_at {APPLIED_AT[adapter.engine]}, "
        "PRIMARY KEY (card, name))"
    )


def select_sql(adapter: Adapter) -> str:
    """Return the SELECT of every recorded migration, oldest first."""
    columns = "card, name, checksum, applied_at"
    return f"SELECT {columns} FROM {table(adapter)} ORDER BY applied_at, card, name"  # noqa: S608


def insert_sql(adapter: Adapter, card: str, migration: Migration) -> tuple[str, tuple[str, ...]]:
    """Return the INSERT recording one migration, with its parameters."""
    mark = adapter.dialect.placeholder  # type: ignore[attr-defined]
    sql = f"INSERT INTO {table(adapter)} (card, name, checksum) VALUES ({mark}, {mark}, {mark})"  # noqa: S608
    return sql, (card, migration.name, migration.checksum)


@contextmanager
def locked(adapter: Adapter, tx: Transaction) -> Iterator[None]:
    """Hold the store's migration lock for the block (inside transaction `tx`)."""
    if adapter.engine == "postgres":
        adapter.raw(f"SELECT pg_advisory_xact_lock({LOCK_KEY})", tx=tx)  # freed at tx end
        if adapter.settings.schema != "public":
            schema = adapter.dialect.quote_ident(adapter.settings.schema)  # type: ignore[attr-defined]
            adapter.raw(f"SET LOCAL search_path TO {schema}, public", tx=tx)
        yield
        return
    if adapter.engine == "mysql":  # a session lock: it outlives DDL's implicit commits
        row = adapter.raw("SELECT GET_LOCK(%s, %s)", (LOCK_NAME, MYSQL_LOCK_TIMEOUT_S), tx=tx)
        if next(iter(row.rows[0].values())) != 1:
            raise MigrationError(
                f"datastore {adapter.name}: another process held the migration lock for "
                f"{MYSQL_LOCK_TIMEOUT_S} s",
                hint="wait for the other migration to finish, then run this one again",
            )
        try:
            yield
        finally:
            with suppress(DatastoreError):  # a dead connection has released it already
                adapter.raw("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,), tx=tx)
        return
    yield  # SQLite: transaction() began with BEGIN IMMEDIATE, the write lock
