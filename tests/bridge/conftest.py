"""Throwaway stores for MagBridge tests: a database per module on each server, dropped after.

PostgreSQL and MariaDB get `CREATE DATABASE mobo_b_<random>`; SQLite a temp file.
Override the servers with MOBO_TEST_PG_DSN and MOBO_TEST_MYSQL_DSN.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest

from components.datastore import Adapter, open_adapter
from components.datastore.adapters.mysql import connect_args

ENGINES = ("sqlite", "postgres", "mysql")
PG_DSN = os.environ.get("MOBO_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_DSN = os.environ.get("MOBO_TEST_MYSQL_DSN", "mysql://root@127.0.0.1:3306/mysql")


def with_database(dsn: str, database: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="module")
def pg_dsn() -> Iterator[str]:
    """A fresh PostgreSQL database's DSN."""
    name = f"mobo_b_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.fail(f"tests need PostgreSQL at {PG_DSN} (MOBO_TEST_PG_DSN): {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield with_database(PG_DSN, name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def mysql_dsn() -> Iterator[str]:
    """A fresh MariaDB/MySQL database's DSN."""
    name = f"mobo_b_{uuid.uuid4().hex[:12]}"
    try:
        admin = pymysql.connect(**connect_args(MYSQL_DSN, store="test"), autocommit=True)
    except pymysql.err.OperationalError as exc:
        pytest.fail(f"tests need MariaDB/MySQL at {MYSQL_DSN} (MOBO_TEST_MYSQL_DSN): {exc}")
    with admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        try:
            yield with_database(MYSQL_DSN, name)
        finally:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="module")
def stores(
    pg_dsn: str, mysql_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Adapter]]:
    """One open store per engine, by engine name."""
    path: Path = tmp_path_factory.mktemp("bridge") / "store.db"
    opened = {
        "sqlite": open_adapter("lite", {"engine": "sqlite", "path": str(path)}),
        "postgres": open_adapter("pg", {"engine": "postgres", "dsn": pg_dsn, "pool_max": 4}),
        "mysql": open_adapter("maria", {"engine": "mysql", "dsn": mysql_dsn, "pool_max": 4}),
    }
    yield opened
    for adapter in opened.values():
        adapter.close()


def table_name(prefix: str) -> str:
    """Return a table name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
