"""Throwaway stores for MagBridge tests: a database per module on each server, dropped after.

The databases come from the datastore suite's `throwaway_database` (PostgreSQL and
MariaDB `CREATE DATABASE mobo_t_<random>`; override the servers with MOBO_TEST_PG_DSN and
MOBO_TEST_MYSQL_DSN).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.datastore import Adapter, open_adapter
from tests.datastore.conftest import ENGINES, throwaway_database

__all__ = ["ENGINES", "table_name"]


@pytest.fixture(scope="module")
def pg_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh PostgreSQL database's DSN."""
    with throwaway_database("postgres", tmp_path_factory.mktemp("pg")) as settings:
        yield settings["dsn"]


@pytest.fixture(scope="module")
def mysql_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh MariaDB/MySQL database's DSN."""
    with throwaway_database("mysql", tmp_path_factory.mktemp("my")) as settings:
        yield settings["dsn"]


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
