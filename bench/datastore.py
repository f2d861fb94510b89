"""Benchmark the adapter layer's overhead on PostgreSQL against raw psycopg.

Run: `.venv/bin/python bench/datastore.py [--dsn DSN] [--rounds N] [--block N] [--no-bridge]`

A throwaway database gets a table of 10,000 rows (int key, text, numeric, int, text,
timestamptz). Two reads, each done by the adapter and by raw psycopg on the *same*
connection (the adapter's pool holds exactly one, which the raw side borrows):

- pk: one row by primary key;
- filtered: 20 rows matching two conditions, ordered, limited.

The adapter side builds the neutral `Select` in every iteration, as a request handler
would, and returns JSON-friendly dicts (numeric as exact text, timestamps as ISO text).
Two raw baselines run the identical SQL text on a reused cursor: tuples (the least raw
psycopg can do) and `dict_row` (the same row shape as the adapter). Both sides warm up
(psycopg prepares a statement after 5 runs; both run the same text, so both are
prepared), then alternate in blocks so that drift on the machine hits every side alike.
Medians per operation are printed in µs with the ratios; the target is ≤ 1.15 times raw.

At the end, if `bench/datastore_bridge.py` exists, its `main()` runs too (not with
`--no-bridge`).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchdb import DSN, throwaway_database
from psycopg.rows import dict_row

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.datastore import Adapter, And, Cond, Order, Select, open_adapter  # noqa: E402

TARGET = 1.15
ROWS = 10_000
DDL = (
    "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, price numeric(10,2), "
    "qty integer, tag text, created timestamptz NOT NULL DEFAULT now())",
    "INSERT INTO items SELECT g, 'item ' || g, g * 1.25, g % 100, 'tag' || (g % 50), "
    "now() - g * interval '1 minute' FROM generate_series(1, 10000) g",
    "CREATE INDEX items_tag ON items (tag, id)",
    "ANALYZE items",
)
COLUMNS = '"id", "name", "price", "qty", "tag", "created"'
PK_SQL = f'SELECT {COLUMNS} FROM "public"."items" WHERE "id" = %s'
FILTER_SQL = (
    f'SELECT {COLUMNS} FROM "public"."items" WHERE ("tag" = %s AND "qty" >= %s) '
    'ORDER BY "id" NULLS LAST LIMIT %s'
)


def pk_query(i: int) -> Select:
    return Select("items", where=Cond("id", "eq", i % ROWS + 1))


def filter_query(i: int) -> Select:
    where = And([Cond("tag", "eq", f"tag{i % 50}"), Cond("qty", "gte", 10)])
    return Select("items", where=where, order=[Order("id")], limit=20)


def pk_params(i: int) -> tuple[object, ...]:
    return (i % ROWS + 1,)


def filter_params(i: int) -> tuple[object, ...]:
    return (f"tag{i % 50}", 10, 20)


def timed_block(fn: Callable[[int], object], start: int, n: int, out: list[float]) -> None:
    """Run fn(i) n times, appending each call's time in µs."""
    clock = time.perf_counter
    for i in range(start, start + n):
        t0 = clock()
        fn(i)
        out.append((clock() - t0) * 1e6)


def run(dsn: str, rounds: int, block: int) -> bool:
    """Measure in a throwaway database; return whether every ratio met the target."""
    with throwaway_database(dsn, "ds") as db_dsn:
        return _measure(db_dsn, rounds, block)


def _measure(dsn: str, rounds: int, block: int) -> bool:
    store = open_adapter("bench", {"engine": "postgres", "dsn": dsn, "pool_min": 1, "pool_max": 1})
    try:
        for statement in DDL:
            store.raw(statement)
        store.refresh_schema()
        results = {
            "pk select": _compare(store, pk_query, PK_SQL, pk_params, rounds, block),
            "20-row filtered select": _compare(
                store, filter_query, FILTER_SQL, filter_params, rounds, block
            ),
        }
        return _report(results, rounds * block)
    finally:
        store.close()


def _compare(
    store: Adapter,
    query: Callable[[int], Select],
    sql: str,
    params: Callable[[int], tuple[object, ...]],
    rounds: int,
    block: int,
) -> dict[str, float]:
    """Alternate blocks of each side; return each side's median µs per call."""
    pool = store._pool  # type: ignore[attr-defined]  # one connection, shared by every side
    conn = pool.getconn()
    tuples, dicts = conn.cursor(), conn.cursor(row_factory=dict_row)
    pool.putconn(conn)

    def raw_pooled(i: int) -> object:
        lent = pool.getconn()  # the same connection: the pool holds only one
        try:
            return tuples.execute(sql, params(i)).fetchall()
        finally:
            pool.putconn(lent)

    held: dict[str, Callable[[int], object]] = {  # run while the connection is held out
        "raw": lambda i: tuples.execute(sql, params(i)).fetchall(),
        "raw dict_row": lambda i: dicts.execute(sql, params(i)).fetchall(),
    }
    lent: dict[str, Callable[[int], object]] = {  # check the connection out per call
        "raw + pool": raw_pooled,
        "adapter": lambda i: store.execute(query(i)).rows,
    }
    plan = store._plans.select(query(7))[0]  # type: ignore[attr-defined]
    assert plan.sql == sql, f"the two sides run different SQL: {plan.sql!r}"
    expected = [row["id"] for row in store.execute(query(7)).rows]
    assert [row[0] for row in raw_pooled(7)] == expected, "the two sides read different rows"
    times: dict[str, list[float]] = {name: [] for name in (*held, *lent)}
    for r in range(-1, rounds):  # round -1 warms up: prepared statements, plan cache
        samples = times if r >= 0 else {name: [] for name in times}
        conn = pool.getconn()
        try:
            for name, fn in held.items():
                timed_block(fn, r * block, block, samples[name])
        finally:
            pool.putconn(conn)
        for name in list(lent) if r % 2 else reversed(lent):
            timed_block(lent[name], r * block, block, samples[name])
    return {name: statistics.median(values) for name, values in times.items()}


def _report(results: dict[str, dict[str, float]], n: int) -> bool:
    print(f"MagDS adapter overhead on PostgreSQL: median µs per call, {n} calls per side")
    print(
        f"{'operation':<24}{'raw':>8}{'raw dict_row':>14}{'raw + pool':>12}{'adapter':>9}"
        f"{'÷ raw':>8}{'÷ raw + pool':>14}"
    )
    ok = True
    for op, m in results.items():
        vs_raw = m["adapter"] / m["raw"]
        vs_pooled = m["adapter"] / m["raw + pool"]
        ok = ok and vs_raw <= TARGET
        print(
            f"{op:<24}{m['raw']:>8.1f}{m['raw dict_row']:>14.1f}{m['raw + pool']:>12.1f}"
            f"{m['adapter']:>9.1f}{vs_raw:>7.2f}x{vs_pooled:>13.2f}x"
        )
    print(f"target <= {TARGET:.2f}x raw on every operation: {'met' if ok else 'MISSED'}")
    return ok


def run_bridge_bench() -> None:
    """Run bench/datastore_bridge.py's main() when that benchmark exists."""
    path = Path(__file__).with_name("datastore_bridge.py")
    if not path.exists():
        return
    spec = importlib.util.spec_from_file_location("datastore_bridge", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print()
    argv, sys.argv = sys.argv, [str(path)]  # its own defaults, not this script's options
    try:
        module.main()
    finally:
        sys.argv = argv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=DSN, help="a PostgreSQL that may CREATE DATABASE")
    parser.add_argument("--rounds", type=int, default=20, help="alternations per operation")
    parser.add_argument("--block", type=int, default=500, help="calls per side per round")
    parser.add_argument(
        "--no-bridge", action="store_true", help="measure the adapter only, not MagBridge"
    )
    args, _ = parser.parse_known_args()
    run(args.dsn, args.rounds, args.block)
    if not args.no_bridge:
        run_bridge_bench()


if __name__ == "__main__":
    main()
