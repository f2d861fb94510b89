"""Micro-benchmark: the adapter's side of a REST request on PostgreSQL (issue #4).

Times N primary-key reads through `Adapter.execute_in(select, setup=SETUP, read_only=True)`
(BEGIN READ ONLY, the role/claims set_config, the query and COMMIT in one round trip), in
one process, on a throwaway database with a 1,000-row table; prints wall and CPU µs per
request for 3 loops. Run under the bench lock:

    flock -x /tmp/bench.lock .venv/bin/python bench/pg_session.py [N] [--dsn DSN]
"""

from __future__ import annotations

import argparse
import json
import time

from benchdb import DSN, throwaway_database

from components.datastore import open_adapter
from components.datastore.access.prerequest import SETUP
from components.datastore.query import Cond, Op, Select


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=3000, help="requests per loop")
    parser.add_argument("--dsn", default=DSN)
    args = parser.parse_args()
    with throwaway_database(args.dsn, "session") as dsn:
        run(dsn, args.n)


def run(dsn: str, n: int) -> None:
    db = open_adapter("bench", {"engine": "postgres", "dsn": dsn, "pool_max": 4})
    try:
        db.raw("CREATE TABLE todos (id int PRIMARY KEY, title text, done bool, at timestamptz)")
        db.raw(
            "INSERT INTO todos SELECT i, 'todo ' || i, false, now() FROM generate_series(1, 1000) i"
        )
        db.refresh_schema()
        params = ("postgres", json.dumps({"role": "postgres"}), "GET", "/todos", "{}")
        for _ in range(3):
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(n):
                select = Select("todos", where=Cond("id", Op.EQ, i % 1000 + 1))
                db.execute_in(select, setup=(SETUP, params), read_only=True)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"{n} requests: wall {wall / n * 1e6:.1f} µs/req, CPU {cpu / n * 1e6:.1f} µs/req")
    finally:
        db.close()


if __name__ == "__main__":
    main()
