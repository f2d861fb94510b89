"""Throwaway databases on the real engines: one per test module, dropped afterwards.

PostgreSQL and MariaDB get `CREATE DATABASE mobo_t_<random>`; SQLite a temp file.
Override the servers with MOBO_TEST_PG_DSN and MOBO_TEST_MYSQL_DSN.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from components.datastore import Adapter, open_adapter
from components.datastore.adapters.mysql import connect_args

ENGINES = ("sqlite", "postgres", "mysql")
PG_DSN = os.environ.get("MOBO_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_DSN = os.environ.get("MOBO_TEST_MYSQL_DSN", "mysql://root@127.0.0.1:3306/mysql")


def _with_database(dsn: str, database: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + database


@contextmanager
def _postgres_database() -> Iterator[dict[str, Any]]:
    name = f"mobo_t_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.fail(f"tests need PostgreSQL at {PG_DSN} (MOBO_TEST_PG_DSN): {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield {"engine": "postgres", "dsn": _with_database(PG_DSN, name), "pool_max": 4}
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _mysql_database() -> Iterator[dict[str, Any]]:
    name = f"mobo_t_{uuid.uuid4().hex[:12]}"
    args = connect_args(MYSQL_DSN, store="test")
    try:
        admin = pymysql.connect(**args, autocommit=True, connect_timeout=3)
    except pymysql.err.OperationalError as exc:
        pytest.fail(f"tests need MariaDB/MySQL at {MYSQL_DSN} (MOBO_TEST_MYSQL_DSN): {exc}")
    with admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        try:
            yield {"engine": "mysql", "dsn": _with_database(MYSQL_DSN, name), "pool_max": 4}
        finally:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@contextmanager
def throwaway_database(engine: str, tmp: Path) -> Iterator[dict[str, Any]]:
    """Yield the settings of a fresh, empty store on `engine`."""
    if engine == "sqlite":
        yield {"engine": "sqlite", "path": str(tmp / "store.db"), "pool_max": 4}
    elif engine == "postgres":
        with _postgres_database() as settings:
            yield settings
    else:
        with _mysql_database() as settings:
            yield settings


@contextmanager
def open_store(engine: str, tmp: Path, ddl: list[str]) -> Iterator[Adapter]:
    """Open an adapter on a throwaway database, run `ddl`, and close and drop it after."""
    with throwaway_database(engine, tmp) as settings:
        adapter = open_adapter(f"t_{engine}", settings)
        try:
            for statement in ddl:
                adapter.raw(statement)
            adapter.refresh_schema()
            yield adapter
        finally:
            adapter.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param
