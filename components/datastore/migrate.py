"""Schema migrations: ordered `*.sql` files, each applied once, recorded in `mobo_migrations`.

Two sources, one table (`card`, `name`, `checksum` (sha256), `applied_at`):

- the board's own files, `<home>/migrations/<store>/*.sql`, applied by
  `mobo ds:migrate STORE` (recorded with `card = ''`);
- a card's files, `components/<card>/migrations/<engine>/NNN_name.sql`, applied to the
  default store by the datastore card's POST at boot, or by the card itself with
  `Datastores.of(board).migrate_card("<card>")` (recorded with the card's name).

Files run in natural order (`2_x.sql` before `10_y.sql`). Each file runs in its own
transaction with its record, under a lock (PostgreSQL advisory lock, MySQL GET_LOCK,
SQLite's write lock) so two processes never apply one file twice. A file already
applied whose content changed is refused, naming it. MySQL and MariaDB commit DDL
implicitly, so there a file that fails halfway keeps the DDL before the failure (and is
not recorded): write MySQL migrations so they can run again (`IF NOT EXISTS`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from mobo.exceptions import MigrationError, UnknownIdentifier

from . import migrate_sql as engine_sql
from .adapters.base import Adapter
from .sqlscript import split_statements

LOGGER = logging.getLogger(__name__)

COMPONENTS_DIR = Path(__file__).resolve().parents[1]
BOARD = ""  # the `card` of the board's own migrations
HINT_CHANGED = (
    "an applied migration must not change: restore the file, and put the change in a new one"
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    name: str
    path: Path
    checksum: str  # sha256 of the file's bytes, hex

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Applied:
    """A migration applied (or, in a dry run, that would be)."""

    card: str
    name: str
    checksum: str
    ms: float = 0.0
    dry_run: bool = False


def read_migrations(directory: Path) -> list[Migration]:
    """Return the `*.sql` files of a folder in natural order (none if it does not exist)."""
    if not directory.is_dir():
        return []
    paths = sorted(directory.glob("*.sql"), key=lambda p: _natural(p.name))
    return [Migration(p.name, p, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]


def _natural(name: str) -> list[tuple[int, int, str]]:
    parts = re.split(r"(\d+)", name)
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts]


def board_migrations_dir(home: Path, store: str) -> Path:
    """Return where the board's own migrations for `store` live."""
    return home / "migrations" / store


def card_migrations_dir(card: str, engine: str, root: Path = COMPONENTS_DIR) -> Path:
    """Return where a card's migrations for `engine` live."""
    return root / card / "migrations" / engine


class Migrator:
    """Apply migrations to one store, once each."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter

    def recorded(self) -> dict[tuple[str, str], str]:
        """Return the checksum of every applied migration by (card, name)."""
        try:
            rows = self.adapter.raw(engine_sql.select_sql(self.adapter)).rows
        except UnknownIdentifier:  # no table yet: nothing applied
            return {}
        return {(row["card"], row["name"]): row["checksum"] for row in rows}

    def pending(self, migrations: list[Migration], *, card: str = BOARD) -> list[Migration]:
        """Return the migrations not applied yet; refuse an applied one that changed."""
        return _pending(migrations, self.recorded(), card)

    def apply(
        self, migrations: list[Migration], *, card: str = BOARD, dry_run: bool = False
    ) -> list[Applied]:
        """Apply what is pending, in order; return what was applied (or would be)."""
        todo = self.pending(migrations, card=card)
        if dry_run:
            return [Applied(card, m.name, m.checksum, dry_run=True) for m in todo]
        if not todo:
            return []
        done = [a for a in (self._apply_one(m, card) for m in todo) if a is not None]
        self.adapter.refresh_schema()
        return done

    def _apply_one(self, migration: Migration, card: str) -> Applied | None:
        start = time.perf_counter()
        adapter = self.adapter
        with adapter.transaction() as tx:
            with engine_sql.locked(adapter, tx):
                # made under the lock: two CREATE TABLE IF NOT EXISTS at once can collide
                adapter.raw(engine_sql.create_table_sql(adapter), tx=tx)
                rows = adapter.raw(engine_sql.select_sql(adapter), tx=tx).rows
                recorded = {(row["card"], row["name"]): row["checksum"] for row in rows}
                if not _pending([migration], recorded, card):
                    return None  # another process applied it meanwhile
                for statement in split_statements(adapter.engine, migration.sql):
                    self._run(migration, statement, tx)
                insert, params = engine_sql.insert_sql(adapter, card, migration)
                adapter.raw(insert, params, tx=tx)
        ms = (time.perf_counter() - start) * 1000
        LOGGER.info("datastore %s: applied %s%s", adapter.name, _label(card), migration.name)
        return Applied(card, migration.name, migration.checksum, round(ms, 1))

    def _run(self, migration: Migration, statement: str, tx: object) -> None:
        try:
            self.adapter.raw(statement, tx=tx)  # type: ignore[arg-type]
        except MigrationError:
            raise
        except Exception as exc:
            message = getattr(exc, "message", str(exc))
            raise MigrationError(
                f"migration {migration.path} failed: {message}",
                code=getattr(exc, "code", None),
                hint="fix the file and run the migration again; nothing of it was recorded",
            ) from exc


def _pending(
    migrations: list[Migration], recorded: dict[tuple[str, str], str], card: str
) -> list[Migration]:
    todo = []
    for migration in migrations:
        checksum = recorded.get((card, migration.name))
        if checksum is None:
            todo.append(migration)
        elif checksum != migration.checksum:
            raise MigrationError(
                f"migration {migration.path} was applied and has changed since "
                f"(sha256 {checksum[:12]}… then, {migration.checksum[:12]}… now)",
                hint=HINT_CHANGED,
            )
    return todo


def _label(card: str) -> str:
    return f"{card}/" if card else ""


def migrate_store(adapter: Adapter, home: Path, *, dry_run: bool = False) -> list[Applied]:
    """Apply the board's own migrations for this store (`<home>/migrations/<store>/`)."""
    migrations = read_migrations(board_migrations_dir(home, adapter.name))
    return Migrator(adapter).apply(migrations, dry_run=dry_run)


def migrate_card(
    adapter: Adapter, card: str, *, root: Path = COMPONENTS_DIR, dry_run: bool = False
) -> list[Applied]:
    """Apply a card's migrations for the store's engine; a card without any has none to apply.

    A card that ships migrations for other engines but not this one cannot work on this
    store: that is a MigrationError naming the folder that is missing.
    """
    base = root / card / "migrations"
    if not base.is_dir():
        return []
    folder = card_migrations_dir(card, adapter.engine, root)
    if not folder.is_dir():
        shipped = ", ".join(sorted(p.name for p in base.iterdir() if p.is_dir())) or "none"
        raise MigrationError(
            f"card {card} has no migrations for {adapter.engine} ({folder} is missing)",
            hint=f"it ships them for: {shipped}; use one of those engines for store "
            f"{adapter.name}, or unplug {card}",
        )
    return Migrator(adapter).apply(read_migrations(folder), card=card, dry_run=dry_run)


def cards_with_migrations(cards: list[str], root: Path = COMPONENTS_DIR) -> list[str]:
    """Return those of `cards` that ship migrations."""
    return [card for card in cards if (root / card / "migrations").is_dir()]
