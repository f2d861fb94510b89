"""`mobo ds:*` run as an operator runs them: `python -m mobo` in a board's home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port


def mobo(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "MOBO_HOME": str(home), "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mobo", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def ok(home: Path, *args: str) -> str:
    done = mobo(home, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def as_json(home: Path, *args: str) -> Any:
    return json.loads(ok(home, *args, "--json"))


def failed(home: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = mobo(home, *args, env=env)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "hint:" in done.stderr
    return done.stderr


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("board")
    ok(home, "init")
    ok(home, "ds:sql", "main", "CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    ok(
        home,
        "ds:sql",
        "main",
        "CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL, "
        "done BOOLEAN DEFAULT false, owner INTEGER REFERENCES owners (id))",
    )
    ok(home, "ds:sql", "main", "CREATE INDEX todos_owner ON todos (owner)")
    ok(home, "ds:sql", "main", "INSERT INTO todos (id, title) VALUES (1, 'write tests')")
    return home


def test_list_shows_the_default_store_healthy(board: Path) -> None:
    text = ok(board, "ds:list")
    assert "main (default)" in text and "sqlite" in text and "ok" in text
    [row] = as_json(board, "ds:list")
    assert row["name"] == "main" and row["default"] and row["ok"]
    assert row["where"] == str(board / "data" / "main.db") and row["latency_ms"] >= 0


def test_list_shows_a_dead_store_down_without_its_password(board: Path) -> None:
    env = {
        "MOBO_DATASTORES_PG_ENGINE": "postgres",
        "MOBO_DATASTORES_PG_DSN": f"postgresql://app:s3cret@127.0.0.1:{free_port()}/app",
    }
    done = mobo(board, "ds:list", "--json", env=env)
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert not rows["pg"]["ok"] and rows["pg"]["where"].startswith("postgresql://app:***@")
    assert "s3cret" not in done.stdout


def test_tables(board: Path) -> None:
    assert "todos" in ok(board, "ds:tables", "main")
    rows = {row["name"]: row for row in as_json(board, "ds:tables", "main")}
    assert rows["todos"] == {
        "name": "todos",
        "kind": "table",
        "columns": 4,
        "primary_key": ["id"],
        "foreign_keys": 1,
        "indexes": 1,
    }


def test_describe(board: Path) -> None:
    text = ok(board, "ds:describe", "main.todos")
    assert "title" in text and "owners(id)" in text and "todos_owner" in text
    info = as_json(board, "ds:describe", "main.todos")
    columns = {c["name"]: c for c in info["columns"]}
    assert columns["id"]["primary_key"] and not columns["title"]["nullable"]
    assert columns["done"]["default"] == "false" and columns["done"]["kind"] == "boolean"
    assert info["foreign_keys"][0]["ref_table"] == "owners"
    assert info["indexes"][0]["columns"] == ["owner"]


def test_sql_prints_rows_or_rowcount(board: Path) -> None:
    assert "write tests" in ok(board, "ds:sql", "main", "SELECT id, title FROM todos")
    out = as_json(board, "ds:sql", "main", "SELECT id, title FROM todos")
    assert out == {"rows": [{"id": 1, "title": "write tests"}], "rowcount": 1}
    text = ok(board, "ds:sql", "main", "UPDATE todos SET done = true WHERE id = 1")
    assert "rowcount 1" in text


def test_migrate_dry_run_then_apply_then_nothing(board: Path) -> None:
    folder = board / "migrations" / "main"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "001_tags.sql").write_text("CREATE TABLE tags (id INTEGER PRIMARY KEY);")
    assert "would apply 001_tags.sql" in ok(board, "ds:migrate", "main", "--dry-run")
    assert "tags" not in ok(board, "ds:tables", "main")
    assert "applied 001_tags.sql" in ok(board, "ds:migrate", "main")
    assert "up to date" in ok(board, "ds:migrate", "main")
    assert as_json(board, "ds:migrate", "main") == []
    (folder / "002_more.sql").write_text("CREATE TABLE more (id INTEGER PRIMARY KEY);")
    [plan] = as_json(board, "ds:migrate", "main", "--dry-run")
    assert plan["name"] == "002_more.sql" and plan["dry_run"] and len(plan["checksum"]) == 64


def test_migrate_refuses_a_changed_file(board: Path) -> None:
    folder = board / "migrations" / "main"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "050_flags.sql"
    path.write_text("CREATE TABLE flags (id INTEGER PRIMARY KEY);")
    ok(board, "ds:migrate", "main")
    path.write_text("CREATE TABLE flags (id INTEGER PRIMARY KEY, on_ BOOLEAN);")
    assert "050_flags.sql was applied and has changed" in failed(board, "ds:migrate", "main")
    path.write_text("CREATE TABLE flags (id INTEGER PRIMARY KEY);")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("ds:tables", "nope"), "no datastore named 'nope'"),
        (("ds:describe", "main.todo"), "main has no table 'todo'"),
        (("ds:describe", "todos"), "does not name a table as STORE.TABLE"),
        (("ds:sql", "main", "SELEC 1"), "syntax error"),
        (("ds:migrate", "nope"), "no datastore named 'nope'"),
    ],
)
def test_errors_are_one_line_with_a_hint(board: Path, args: tuple[str, ...], words: str) -> None:
    assert words in failed(board, *args)


def test_a_dead_store_is_an_error_with_a_fix(board: Path) -> None:
    env = {
        "MOBO_DATASTORES_PG_ENGINE": "postgres",
        "MOBO_DATASTORES_PG_DSN": f"postgresql://app@127.0.0.1:{free_port()}/app",
    }
    assert "datastores.pg.dsn" in failed(board, "ds:tables", "pg", env=env)
