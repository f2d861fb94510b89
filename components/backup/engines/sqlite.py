"""SQLite: the online backup API (`sqlite3.Connection.backup`), counted in the copy.

The copy is taken in one step, so it is one consistent snapshot of the file while the
board keeps writing (WAL mode: the writers are not blocked). Restore goes through the
same API into the live file, so the board's own connections see the restored database
at once and never a half-written file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from components.datastore.settings import StoreSettings

from ..errors import BackupError
from ..files import chunks_of
from ..settings import BackupSettings
from . import Dumped, Sink

TABLES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' "
    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
)


def _path(name: str, settings: StoreSettings) -> Path:
    if not settings.path or settings.path == ":memory:":
        raise BackupError(f"store {name} is an in-memory SQLite database: nothing to back up")
    return Path(settings.path)


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [row[0] for row in conn.execute(TABLES)]
    quoted = {t: '"' + t.replace('"', '""') + '"' for t in tables}
    return {
        t: conn.execute(f"SELECT count(*) FROM {quoted[t]}").fetchone()[0]  # noqa: S608
        for t in tables
    }


def copy_database(source: Path, target: Path) -> None:
    """Copy a live database file to `target` in one consistent step (target: no WAL)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def dump(
    name: str, settings: StoreSettings, tools_: BackupSettings, sink: Sink, scratch: Path
) -> Dumped:
    source = _path(name, settings)
    if not source.exists():
        raise BackupError(f"store {name}: {source} does not exist", hint="boot the board once")
    from ..files import disk_errors

    copy = scratch / f".{name}.sqlite.tmp"
    try:
        with disk_errors(copy.parent):
            copy_database(source, copy)
        conn = sqlite3.connect(copy)
        try:
            counts, version = _counts(conn), sqlite3.sqlite_version
        finally:
            conn.close()
        written = sink(chunks_of(copy))
    finally:
        copy.unlink(missing_ok=True)
    return Dumped(written, counts, version)


def count(name: str, settings: StoreSettings) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{_path(name, settings)}?mode=ro", uri=True, timeout=30)
    try:
        return _counts(conn)
    finally:
        conn.close()


def _check(plain: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise BackupError(f"the SQLite copy is not a database: {exc}") from None
    if result != "ok":
        conn.close()
        raise BackupError(f"the SQLite copy fails its integrity check: {result}")
    return conn


def restore(name: str, settings: StoreSettings, tools_: BackupSettings, plain: Path) -> None:
    """Replace the store's contents through the backup API (one step, under its lock)."""
    _check(plain).close()
    target = _path(name, settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=max(30.0, settings.busy_timeout_ms / 1000))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    os.sync()


def trial(
    name: str, settings: StoreSettings, tools_: BackupSettings, plain: Path
) -> dict[str, int]:
    """Open the copy (a scratch file already), check its integrity, count its rows."""
    conn = _check(plain)
    try:
        return _counts(conn)
    finally:
        conn.close()
