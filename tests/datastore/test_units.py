"""The parts that need no database: settings, DSNs, the pool, the query model, batching."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from components.datastore import Cond, Insert, Order, Select, dialect
from components.datastore.adapters.mysql import connect_args, server_version
from components.datastore.compiler import Compiler
from components.datastore.pool import PoolClosed, PoolTimeout, SimplePool
from components.datastore.schema import Column as Col
from components.datastore.schema import Kind, Schema, Table
from components.datastore.settings import parse_settings, redact
from mobo.exceptions import ConfigError, QueryError

TABLE = Table(
    "t",
    (Col("id", "integer", Kind.INTEGER, primary_key=True), Col("s", "text", Kind.TEXT)),
    primary_key=("id",),
)


def test_settings_defaults_and_sqlite_path_under_home(tmp_path: Path) -> None:
    settings = parse_settings("main", {"engine": "sqlite"}, home=tmp_path)
    assert settings.path == str(tmp_path / "data" / "main.db")
    assert (settings.pool_min, settings.pool_max) == (1, 10)


def test_settings_accept_numbers_as_text_from_the_environment() -> None:
    settings = parse_settings(
        "pg", {"engine": "postgresql", "dsn": "postgresql://h/d", "pool_max": "3"}
    )
    assert (settings.engine, settings.pool_max) == ("postgres", 3)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"engine": "oracle"}, "engine"),
        ({"engine": "postgres"}, "dsn"),
        ({"engine": "sqlite", "pool_max": -1}, "pool_max"),
        ({"engine": "sqlite", "pool_min": 5, "pool_max": 2}, "pool_min"),
        ({"engine": "sqlite", "colour": "red"}, "colour"),
    ],
)
def test_bad_settings_name_the_key(raw: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_settings("x", raw)


def test_dsn_passwords_stay_out_of_repr_and_messages() -> None:
    settings = parse_settings("pg", {"engine": "postgres", "dsn": "postgresql://u:s3cret@h/d"})
    assert "s3cret" not in repr(settings)
    assert settings.redacted_dsn == "postgresql://u:***@h/d"
    assert redact("mysql://root@h/d") == "mysql://root@h/d"


def test_mysql_dsn() -> None:
    args = connect_args("mysql://app:p%40ss@db.local:3307/shop?charset=utf8mb4", store="legacy")
    assert (args["host"], args["port"], args["user"], args["password"], args["database"]) == (
        "db.local",
        3307,
        "app",
        "p@ss",
        "shop",
    )
    with pytest.raises(ConfigError, match="database"):
        connect_args("mysql://root@h", store="legacy")
    with pytest.raises(ConfigError, match="mysql://"):
        connect_args("postgresql://root@h/d", store="legacy")


def test_mariadb_version_banner() -> None:
    assert server_version("5.5.5-10.11.19-MariaDB-0+deb12u1") == (10, 11)
    assert server_version("8.0.36") == (8, 0)
    assert dialect.mysql(mariadb=True, version=(10, 4)).returning == frozenset({"delete"})
    assert not dialect.mysql(mariadb=False, version=(8, 0)).returning


def test_pool_times_out_when_every_connection_is_lent() -> None:
    pool = SimplePool(object, close=lambda c: None, min_size=0, max_size=1, timeout_s=0.05)
    with pool.connection(), pytest.raises(PoolTimeout):
        pool._acquire()
    pool.close()
    with pytest.raises(PoolClosed), pool.connection():
        pass


def test_pool_reuses_and_discards_broken_connections() -> None:
    made: list[object] = []
    broken: set[int] = set()

    def factory() -> object:
        made.append(object())
        return made[-1]

    pool = SimplePool(factory, close=lambda c: None, max_size=2, broken=lambda c: id(c) in broken)
    pool.open()
    with pool.connection() as first:
        pass
    with pool.connection() as again:
        assert again is first
        broken.add(id(again))
    with pool.connection() as fresh:
        assert fresh is not first
    assert pool.stats() == {"size": 1, "idle": 1, "max": 2}


def test_pool_hands_each_connection_to_one_thread_at_a_time() -> None:
    pool = SimplePool(object, close=lambda c: None, min_size=0, max_size=2, timeout_s=5)
    in_use: set[int] = set()
    clashes = []
    lock = threading.Lock()

    def borrow() -> None:
        for _ in range(50):
            with pool.connection() as conn:
                with lock:
                    clashes.append(id(conn) in in_use)
                    in_use.add(id(conn))
                with lock:
                    in_use.discard(id(conn))

    threads = [threading.Thread(target=borrow) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not any(clashes) and pool.stats()["size"] <= 2


def test_inserts_are_split_into_batches_the_engine_can_bind() -> None:
    small = dataclasses.replace(dialect.sqlite(), max_params=5)
    compiler = Compiler(small, Schema({"t": TABLE}))
    statements = compiler.insert(Insert("t", [{"id": i, "s": str(i)} for i in range(5)]))
    assert [s.rows for s in statements] == [2, 2, 1]
    assert [len(s.params) for s in statements] == [4, 4, 2]


def test_mysql_nulls_order_is_emulated_only_where_needed() -> None:
    compiler = Compiler(dialect.mysql(), Schema({"t": TABLE}))
    sql = compiler.select(Select("t", ["id"], order=[Order("s"), Order("id", nulls="first")])).sql
    assert sql.endswith("ORDER BY `s` IS NULL, `s`, `id`")


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: Cond("a", "regex", 1), "PGRST100"),
        (lambda: Cond("a", "in", "1,2"), "PGRST100"),
        (lambda: Cond("a", "is", "maybe"), "PGRST100"),
        (lambda: Select("t", limit=-1), "PGRST103"),
        (lambda: Insert("t", [{"a": 1}, {"b": 2}]), "PGRST102"),
        (lambda: Order("a", nulls="middle"), "PGRST100"),  # type: ignore[arg-type]
    ],
)
def test_the_query_model_refuses_malformed_queries(make: object, code: str) -> None:
    with pytest.raises(QueryError) as caught:
        make()  # type: ignore[operator]
    assert caught.value.code == code
