"""Apply a card's SQL migrations to a store: `components/<card>/migrations/<engine>/NNN_name.sql`.

A stopgap until the datastore card applies card-owned migrations at boot: every file is
written to be idempotent (`IF NOT EXISTS`, `CREATE OR REPLACE`, guarded `DO` blocks), so
applying them all again is harmless, and no bookkeeping table is needed. Concurrent
appliers (gunicorn workers starting together) are serialized by an engine lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from components.datastore import Adapter, Transaction

LOGGER = logging.getLogger(__name__)

COMPONENTS = Path(__file__).resolve().parents[1]
LOCK_KEY = 7_353_210_042  # pg_advisory_xact_lock key: "MagAuth migrations"
MYSQL_LOCK_TIMEOUT_S = 30


def migration_files(card: str, engine: str, root: Path = COMPONENTS) -> list[Path]:
    """Return a card's migration files for `engine`, in order."""
    return sorted((root / card / "migrations" / engine).glob("[0-9]*.sql"))


def apply(adapter: Adapter, card: str = "auth", root: Path = COMPONENTS) -> list[str]:
    """Run every migration of `card` on `adapter` in one transaction; return the file names."""
    files = migration_files(card, adapter.engine, root)
    with adapter.transaction() as tx:
        _lock(adapter, tx)
        try:
            for path in files:
                for statement in split_statements(path.read_text(encoding="utf-8")):
                    adapter.raw(statement, tx=tx)
        finally:
            _unlock(adapter, tx)
    adapter.refresh_schema()
    LOGGER.info("%s migrations applied to %s: %s", card, adapter.name, [p.name for p in files])
    return [p.name for p in files]


def _lock(adapter: Adapter, tx: Transaction) -> None:
    if adapter.engine == "postgres":
        adapter.raw(f"SELECT pg_advisory_xact_lock({LOCK_KEY})", tx=tx)
    elif adapter.engine == "mysql":
        adapter.raw(f"SELECT GET_LOCK('mobo_auth_migrate', {MYSQL_LOCK_TIMEOUT_S})", tx=tx)
    # SQLite: the transaction's BEGIN IMMEDIATE already holds the write lock


def _unlock(adapter: Adapter, tx: Transaction) -> None:
    if adapter.engine == "mysql":
        adapter.raw("SELECT RELEASE_LOCK('mobo_auth_migrate')", tx=tx)


def split_statements(sql: str) -> list[str]:
    """Split a SQL script on `;`, outside quotes, `$$` bodies and `--` comments."""
    return [s for s in (part.strip() for part in _parts(sql)) if s and not _only_comments(s)]


def _parts(sql: str) -> Iterator[str]:
    start, i, n = 0, 0, len(sql)
    while i < n:
        if sql.startswith("--", i):
            i = _after(sql, "\n", i + 2)
        elif sql.startswith("$$", i):
            i = _after(sql, "$$", i + 2)
        elif sql[i] in "'\"`":
            i = _after(sql, sql[i], i + 1)
        elif sql[i] == ";":
            yield sql[start:i]
            i = start = i + 1
        else:
            i += 1
    yield sql[start:]


def _after(sql: str, token: str, pos: int) -> int:
    end = sql.find(token, pos)
    return len(sql) if end < 0 else end + len(token)


def _only_comments(statement: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in statement.splitlines())
