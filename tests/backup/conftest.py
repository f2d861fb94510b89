"""Backup tests: throwaway homes with stores on all three engines, and a writer thread."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from components.datastore.adapters.mysql import connect_args
from mobo.kernel.config import Config, load_config
from mobo.kernel.home import init_home
from tests.datastore.conftest import throwaway_database

ENGINES = ("sqlite", "postgres", "mysql")
SEED_ROWS = 20_000


def toml_value(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def make_home(root: Path, stores: dict[str, dict[str, Any]], extra: str = "") -> Config:
    """`mobo init` a home in `root` and configure its stores; return its config."""
    init_home(root, port=None)
    text = "".join(
        f"\n[datastores.{name}]\n"
        + "".join(f"{k} = {toml_value(v)}\n" for k, v in settings.items())
        for name, settings in stores.items()
    )
    with (root / "mobo.toml").open("a") as fh:
        fh.write(text + extra)
    return load_config(root, environ={})


class Sql:
    """A raw connection to a store for the tests (not through MagDS)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.engine = settings["engine"]
        if self.engine == "sqlite":
            self.conn: Any = sqlite3.connect(settings["path"], timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
        elif self.engine == "postgres":
            self.conn = psycopg.connect(settings["dsn"], autocommit=True)
        else:
            self.conn = pymysql.connect(**connect_args(settings["dsn"], store="t"), autocommit=True)

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.engine == "mysql":
            sql = sql.replace("?", "%s")
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall())
        if self.engine == "postgres":
            sql = sql.replace("?", "%s")
        cur = self.conn.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []

    def count(self, table: str) -> int:
        return self.run(f"SELECT count(*) FROM {table}")[0][0]

    def close(self) -> None:
        self.conn.close()


def seed(settings: dict[str, Any], rows: int = SEED_ROWS) -> None:
    sql = Sql(settings)
    key = {
        "sqlite": "INTEGER PRIMARY KEY",
        "postgres": "SERIAL PRIMARY KEY",
        "mysql": "INT AUTO_INCREMENT PRIMARY KEY",
    }[sql.engine]
    sql.run(f"CREATE TABLE items (id {key}, name VARCHAR(200), note TEXT)")
    sql.run("CREATE TABLE empty_one (id INT PRIMARY KEY)")
    batch = [(f"item {i}", "quote ' and \\ and ),( and\nnewline") for i in range(1000)]
    for _ in range(rows // 1000):
        if sql.engine == "sqlite":
            sql.conn.executemany("INSERT INTO items (name, note) VALUES (?, ?)", batch)
        elif sql.engine == "postgres":
            with sql.conn.cursor() as cur:
                cur.executemany("INSERT INTO items (name, note) VALUES (%s, %s)", batch)
        else:
            with sql.conn.cursor() as cur:
                cur.executemany("INSERT INTO items (name, note) VALUES (%s, %s)", batch)
    sql.close()


class Writer(threading.Thread):
    """Insert rows one by one until stopped (a board that keeps writing)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.stop = threading.Event()
        self.written = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        sql = Sql(self.settings)
        try:
            while not self.stop.is_set():
                sql.run("INSERT INTO items (name, note) VALUES (?, ?)", ("live", "during"))
                self.written += 1
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            sql.close()


@pytest.fixture
def store_of(tmp_path: Path) -> Iterator[Callable[[str], dict[str, Any]]]:
    """Make throwaway stores (dropped afterwards): store_of("postgres") -> settings."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        counter = iter(range(100))

        def make(engine: str) -> dict[str, Any]:
            folder = tmp_path / f"db{next(counter)}"
            folder.mkdir()
            settings = stack.enter_context(throwaway_database(engine, folder))
            settings.pop("pool_max", None)
            return settings

        yield make
