"""`mobo bridge:*` end to end: `python -m mobo` on a fresh board with two configured stores."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def mobo(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mobo", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MOBO_HOME": str(home), "COLUMNS": "200"},
        timeout=60,
        check=False,
    )


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str) -> Path:
    """A board whose `edge` store is a SQLite file with two tables and `pg` a database."""
    home = tmp_path_factory.mktemp("board")
    assert mobo(home, "init").returncode == 0
    with (home / "mobo.toml").open("a") as fh:
        fh.write(
            '\n[datastores.edge]\nengine = "sqlite"\npath = "data/edge.db"\n'
            f'\n[datastores.pg]\nengine = "postgres"\ndsn = "{pg_dsn}"\n'
        )
    (home / "data").mkdir(exist_ok=True)
    with sqlite3.connect(home / "data" / "edge.db") as conn:
        conn.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "price NUMERIC(10,2), seen TIMESTAMP)"
        )
        conn.executemany(
            "INSERT INTO items VALUES (?, ?, ?, ?)",
            [(i, f"item {i} ✓", i * 1.25, f"2024-05-01 10:00:{i % 60:02d}") for i in range(50)],
        )
        conn.execute("CREATE TABLE bad (id INTEGER PRIMARY KEY, at TIMESTAMP)")
        conn.executemany("INSERT INTO bad VALUES (?, ?)", [(1, "2024-01-01"), (3, "garbage")])
    return home


def test_copy_prints_a_verified_result_as_json(board: Path) -> None:
    done = mobo(board, "bridge:copy", "edge.items", "pg.items", "--batch", "10", "--json")

    assert done.returncode == 0, done.stderr
    result = as_json(done)
    assert result["rows"] == 50 and result["verified"] is True and result["created"] is True
    assert (result["source"], result["target"]) == ("edge.items", "pg.items")
    assert len(result["checksum"]) == 16 and result["rows_per_s"] > 0


def test_a_finished_copy_is_refused_then_restarted(board: Path) -> None:
    again = mobo(board, "bridge:copy", "edge.items", "pg.items", "--json")
    assert again.returncode == 1
    error = as_json(again)["error"]
    assert "already copied" in error["message"] and "--restart" in error["hint"]

    restarted = mobo(board, "bridge:copy", "edge.items", "pg.items", "--restart")
    assert restarted.returncode == 0, restarted.stderr
    assert "copied 50 rows edge.items → pg.items" in restarted.stdout
    assert "verified" in restarted.stdout


def test_status_lists_the_jobs(board: Path) -> None:
    done = mobo(board, "bridge:status", "--json")

    assert done.returncode == 0, done.stderr
    jobs = as_json(done)
    assert [(j["store"], j["job"], j["state"], j["rows"]) for j in jobs] == [
        ("pg", "edge.items -> items", "done", 50)
    ]
    assert "edge.items -> items" in mobo(board, "bridge:status").stdout


def test_an_unrepresentable_value_stops_with_row_column_and_hint(board: Path) -> None:
    done = mobo(board, "bridge:copy", "edge.bad", "pg.bad")

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "row id=3" in done.stderr and "column at" in done.stderr and "hint:" in done.stderr

    as_object = mobo(board, "bridge:copy", "edge.bad", "pg.bad", "--json")
    error = as_json(as_object)["error"]
    assert (error["key"], error["column"], error["code"]) == ({"id": 3}, "at", "22007")


def test_bad_references_are_usage_errors(board: Path) -> None:
    assert mobo(board, "bridge:copy", "items", "pg.items").returncode == 2
    unknown = mobo(board, "bridge:copy", "nowhere.items", "pg.items")
    assert unknown.returncode == 1 and "no datastore named 'nowhere'" in unknown.stderr


def test_workers_can_be_chosen_and_give_the_same_checksum(board: Path) -> None:
    one = mobo(board, "bridge:copy", "edge.items", "pg.items_one", "--batch", "5",
               "--workers", "1", "--json")  # fmt: skip
    two = mobo(board, "bridge:copy", "edge.items", "pg.items_two", "--batch", "5",
               "--workers", "2", "--json")  # fmt: skip

    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert as_json(one)["checksum"] == as_json(two)["checksum"]
    refused = mobo(board, "bridge:copy", "edge.items", "pg.items_none", "--workers", "0")
    assert refused.returncode == 2 and "--workers" in refused.stderr


def test_copy_from_main_with_only_permissions_configured(tmp_path: Path) -> None:
    # regression: the bridge read [datastores.main] on its own; with only `permissions`
    # set (no engine: still the embedded SQLite default), bridge:copy from main failed
    # with "datastores.main.engine is missing"
    home = tmp_path / "board"
    assert mobo(home, "init").returncode == 0
    with (home / "mobo.toml").open("a") as fh:
        fh.write(
            '\n[datastores.main.permissions.notes]\nanon = ["select"]\n'
            '\n[datastores.edge]\nengine = "sqlite"\npath = "data/edge.db"\n'
        )
    (home / "data").mkdir(exist_ok=True)
    with sqlite3.connect(home / "data" / "main.db") as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany("INSERT INTO notes VALUES (?, ?)", [(1, "a"), (2, "b")])

    done = mobo(home, "bridge:copy", "main.notes", "edge.notes", "--json")

    assert done.returncode == 0, done.stderr
    assert as_json(done)["rows"] == 2 and as_json(done)["verified"] is True
    status = mobo(home, "bridge:status", "--json")
    assert status.returncode == 0, status.stderr
    assert [job["store"] for job in as_json(status)] == ["edge"]
