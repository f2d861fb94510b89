"""The benchmarks' PostgreSQL: a throwaway database per run, dropped afterwards.

    with throwaway_database(DSN, "gw", ["CREATE TABLE ..."]) as db_dsn: ...

The benchmarks run as scripts (`.venv/bin/python bench/x.py`), so this folder is first on
`sys.path` and they import this module by its name. Databases are named
`mobo_bench_<prefix>_<random>`: a run that was killed leaves one behind, easy to find.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg

DSN = os.environ.get("MOBO_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def with_database(dsn: str, name: str) -> str:
    """Return `dsn` pointing at the database `name` instead."""
    return dsn.rsplit("/", 1)[0] + "/" + name


@contextmanager
def throwaway_database(dsn: str, prefix: str, setup: Sequence[str] = ()) -> Iterator[str]:
    """Create a database and run `setup` in it; yield its DSN; drop it, even on failure."""
    name = f"mobo_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db_dsn = with_database(dsn, name)
    try:
        if setup:
            with psycopg.connect(db_dsn, autocommit=True) as conn:
                for statement in setup:
                    conn.execute(statement)
        yield db_dsn
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
