"""Migrations on every engine: applied once, recorded, changed files refused, dry runs, cards."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.datastore import Adapter, migrate_card, migrate_store, open_adapter
from components.datastore.migrate import read_migrations
from components.datastore.sqlscript import split_statements
from mobo.exceptions import MigrationError

from .conftest import throwaway_database

STORE = "app"


@pytest.fixture
def store(engine: str, tmp_path: Path) -> Iterator[Adapter]:
    with throwaway_database(engine, tmp_path) as settings:
        adapter = open_adapter(STORE, settings)
        try:
            yield adapter
        finally:
            adapter.close()


def write(home: Path, name: str, sql: str) -> Path:
    path = home / "migrations" / STORE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql)
    return path


def recorded(store: Adapter) -> list[dict[str, object]]:
    return store.raw("SELECT card, name, checksum, applied_at FROM mobo_migrations").rows


def count(store: Adapter, table: str) -> int:
    return next(iter(store.raw(f"SELECT COUNT(*) AS n FROM {table}").rows[0].values()))


def test_files_apply_once_in_order_and_are_recorded(store: Adapter, tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "001_notes.sql",
        "-- notes; with a ; in a comment\n"
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(50));\n"
        "INSERT INTO notes (id, body) VALUES (1, 'a;b');\n",
    )
    write(tmp_path, "2_more.sql", "INSERT INTO notes (id, body) VALUES (2, 'two');")
    write(tmp_path, "10_last.sql", "INSERT INTO notes (id, body) VALUES (10, 'ten');")
    applied = migrate_store(store, tmp_path)
    assert [a.name for a in applied] == ["001_notes.sql", "2_more.sql", "10_last.sql"]
    assert migrate_store(store, tmp_path) == []  # nothing twice
    assert count(store, "notes") == 3
    rows = {row["name"]: row for row in recorded(store)}
    assert set(rows) == {"001_notes.sql", "2_more.sql", "10_last.sql"}
    assert rows["001_notes.sql"]["checksum"] == hashlib.sha256(first.read_bytes()).hexdigest()
    assert all(row["card"] == "" and row["applied_at"] for row in rows.values())
    assert "notes" in store.introspect().tables  # the schema cache was refreshed


def test_a_changed_applied_file_is_refused_by_name(store: Adapter, tmp_path: Path) -> None:
    path = write(tmp_path, "001_t.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY);")
    migrate_store(store, tmp_path)
    path.write_text("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER);")
    write(tmp_path, "002_u.sql", "CREATE TABLE u (id INTEGER PRIMARY KEY);")
    with pytest.raises(MigrationError, match=r"001_t\.sql was applied and has changed") as caught:
        migrate_store(store, tmp_path)
    assert caught.value.hint and "new one" in caught.value.hint
    assert "u" not in store.refresh_schema().tables  # nothing after the refusal ran


def test_dry_run_applies_nothing(store: Adapter, tmp_path: Path) -> None:
    write(tmp_path, "001_t.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY);")
    plan = migrate_store(store, tmp_path, dry_run=True)
    assert [(a.name, a.dry_run) for a in plan] == [("001_t.sql", True)]
    tables = store.refresh_schema().tables
    assert "t" not in tables and "mobo_migrations" not in tables
    assert [a.name for a in migrate_store(store, tmp_path)] == ["001_t.sql"]
    assert migrate_store(store, tmp_path, dry_run=True) == []


def test_a_failing_file_is_named_and_not_recorded(
    engine: str, store: Adapter, tmp_path: Path
) -> None:
    write(tmp_path, "001_ok.sql", "CREATE TABLE ok (id INTEGER PRIMARY KEY);")
    write(
        tmp_path,
        "002_bad.sql",
        "CREATE TABLE half (id INTEGER PRIMARY KEY);\nINSERT INTO missing VALUES (1);",
    )
    with pytest.raises(MigrationError, match=r"002_bad\.sql failed") as caught:
        migrate_store(store, tmp_path)
    assert caught.value.hint
    assert [row["name"] for row in recorded(store)] == ["001_ok.sql"]
    if engine != "mysql":  # MySQL commits DDL at once: there `half` stays
        assert "half" not in store.refresh_schema().tables


def test_two_processes_at_once_apply_a_file_once(engine: str, tmp_path: Path) -> None:
    write(tmp_path, "001_t.sql", "CREATE TABLE t (id INTEGER);\nINSERT INTO t VALUES (1);")
    with throwaway_database(engine, tmp_path) as settings:
        stores = [open_adapter(STORE, settings) for _ in range(2)]
        try:
            errors: list[BaseException] = []

            def run(adapter: Adapter) -> None:
                try:
                    migrate_store(adapter, tmp_path)
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(s,)) for s in stores]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert errors == []
            assert count(stores[0], "t") == 1
        finally:
            for adapter in stores:
                adapter.close()


def test_a_missing_folder_means_nothing_to_apply(store: Adapter, tmp_path: Path) -> None:
    assert migrate_store(store, tmp_path) == []


# -- card migrations ------------------------------------------------------------------


def card_root(tmp_path: Path, engines: tuple[str, ...]) -> Path:
    root = tmp_path / "components"
    for engine in engines:
        folder = root / "gizmo" / "migrations" / engine
        folder.mkdir(parents=True)
        (folder / "001_gizmos.sql").write_text(
            "CREATE TABLE gizmos (id INTEGER PRIMARY KEY, name VARCHAR(20));"
        )
    (root / "plain").mkdir()
    return root


def test_card_migrations_are_recorded_with_the_card(
    engine: str, store: Adapter, tmp_path: Path
) -> None:
    root = card_root(tmp_path, ("postgres", "sqlite", "mysql"))
    applied = migrate_card(store, "gizmo", root=root)
    assert [(a.card, a.name) for a in applied] == [("gizmo", "001_gizmos.sql")]
    assert migrate_card(store, "gizmo", root=root) == []
    assert [(r["card"], r["name"]) for r in recorded(store)] == [("gizmo", "001_gizmos.sql")]
    assert "gizmos" in store.introspect().tables
    # the board's own file of the same name is another migration
    write(tmp_path, "001_gizmos.sql", "CREATE TABLE other (id INTEGER PRIMARY KEY);")
    assert [a.card for a in migrate_store(store, tmp_path)] == [""]


def test_a_card_without_migrations_has_none(store: Adapter, tmp_path: Path) -> None:
    assert migrate_card(store, "plain", root=card_root(tmp_path, ("sqlite",))) == []


def test_a_card_without_migrations_for_this_engine_is_refused(
    engine: str, store: Adapter, tmp_path: Path
) -> None:
    others = tuple(e for e in ("postgres", "sqlite", "mysql") if e != engine)
    with pytest.raises(MigrationError, match=f"no migrations for {engine}") as caught:
        migrate_card(store, "gizmo", root=card_root(tmp_path, others))
    assert others[0] in (caught.value.hint or "")


# -- files and statements -------------------------------------------------------------


def test_read_migrations_sorts_naturally_and_ignores_other_files(tmp_path: Path) -> None:
    for name in ("10_c.sql", "2_b.sql", "001_a.sql", "notes.txt"):
        (tmp_path / name).write_text("SELECT 1;")
    assert [m.name for m in read_migrations(tmp_path)] == ["001_a.sql", "2_b.sql", "10_c.sql"]


def test_sqlite_scripts_keep_triggers_and_quoted_semicolons_whole() -> None:
    script = (
        "-- header; not a statement\n"
        "CREATE TABLE a (x TEXT DEFAULT ';');\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO a VALUES ('x;y'); END;\n"
        "-- trailing comment\n"
    )
    statements = split_statements("sqlite", script)
    assert len(statements) == 2 and statements[1].endswith("END;")


def test_mysql_scripts_split_outside_quotes_and_comments_and_honour_delimiter() -> None:
    script = (
        "# comment; here\n"
        "CREATE TABLE a (x TEXT); -- trailing; comment\n"
        "INSERT INTO a VALUES ('it''s;'), (\"a;b\"), ('back\\\\'';');\n"
        "DELIMITER //\n"
        "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END //\n"
        "DELIMITER ;\n"
        "/* block; */ SELECT 3;\n"
    )
    statements = split_statements("mysql", script)
    assert len(statements) == 4
    assert statements[2] == "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END"


def test_postgres_scripts_run_whole() -> None:
    script = "DO $$ BEGIN PERFORM 1; END $$;\nSELECT 2;"
    assert split_statements("postgres", script) == [script]
    assert split_statements("postgres", "-- nothing\n") == []
