"""MagBridge throughput, SQLite -> PostgreSQL, against a raw COPY of the same rows.

    .venv/bin/python bench/datastore_bridge.py [--rows 1000000] [--batch 10000] [--rounds 3]
        [--workers 2]

A SQLite table of `--rows` rows (id INTEGER PRIMARY KEY, n INTEGER, label TEXT of 20
characters, amount NUMERIC(12,2), at TIMESTAMP) is made with a recursive CTE in a temp
file, and a throwaway PostgreSQL database is created (`--pg-dsn` names the server; it is
dropped afterwards). Each round, in the same run:

- raw: the rows written once to a CSV file (not timed); timed: `COPY t FROM STDIN (FORMAT
  csv)` into an empty table of the same types and primary key, fed the file's bytes
  through psycopg's `cursor.copy`, and its commit;
- bridge: `copy_table()` into a table it creates: planning, creating the table, the copy
  in keyset batches (each with its checkpoint; read and converted by `--workers`
  processes), and the verification (each batch's rows read back as canonical text by
  PostgreSQL in the batch's own transaction, or checksummed there; at the end the source
  and target row counts). `copy` is the time until the last batch was committed;
  `verify` the rest.

Printed: the median (and best) rows/s of each, and of the bridge's share of raw COPY
speed, round by round (raw seconds over bridge seconds); the load average is shown per
round, since a shared machine skews both. Targets (issue #3): bridge >= 100,000 rows/s
and >= 50 % of raw COPY.
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from benchdb import DSN, throwaway_database

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from components.bridge import Progress, copy_table
from components.bridge.copy import DEFAULT_WORKERS
from components.datastore import open_adapter

SOURCE_DDL = (
    "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, label TEXT NOT NULL, "
    "amount NUMERIC(12,2), at TIMESTAMP)"
)
GENERATE = """
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
INSERT INTO t SELECT i, (i * 7919) % 1000003, 'row-' || printf('%016d', i),
       round((i % 100000) / 100.0, 2), strftime('%Y-%m-%d %H:%M:%S', 1700000000 + i, 'unixepoch')
FROM s
"""
RAW_DDL = (
    "CREATE TABLE raw (id bigint PRIMARY KEY, n bigint NOT NULL, label text NOT NULL, "
    "amount numeric(12,2), at timestamp)"
)
CHUNK = 1 << 20  # bytes handed to copy.write() at a time


def make_source(path: Path, rows: int) -> None:
    """Create the SQLite source table with `rows` rows."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(SOURCE_DDL)
        conn.execute(GENERATE, (rows,))


def write_csv(source: Path, target: Path) -> None:
    """Write the source rows to a CSV file (the raw baseline's input)."""
    with sqlite3.connect(source) as conn, target.open("w", newline="") as fh:
        csv.writer(fh).writerows(conn.execute("SELECT * FROM t ORDER BY id"))


def raw_copy(dsn: str, data: bytes) -> float:
    """Time a COPY of the CSV bytes into an empty table; return the seconds."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS raw")
        conn.execute(RAW_DDL)
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            with cursor.copy("COPY raw FROM STDIN (FORMAT csv)") as copy:
                for offset in range(0, len(data), CHUNK):
                    copy.write(data[offset : offset + CHUNK])
        return time.perf_counter() - start


def bridge_copy(source: Path, dsn: str, batch: int, workers: int) -> dict[str, float]:
    """Copy with MagBridge into a new table; return the total, copy and verify seconds."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS t")
        conn.execute("DROP TABLE IF EXISTS _mobo_bridge")
    marks: dict[str, float] = {}

    def progress(report: Progress) -> None:
        marks[report.phase] = report.elapsed_s

    src = open_adapter("lite", {"engine": "sqlite", "path": str(source)})
    dst = open_adapter("pg", {"engine": "postgres", "dsn": dsn, "pool_max": 4})
    try:
        result = copy_table(src, "t", dst, "t", batch=batch, progress=progress, workers=workers)
    finally:
        src.close()
        dst.close()
    assert result.verified
    return {
        "total": result.seconds,
        "copy": marks["copy"],
        "verify": result.seconds - marks["copy"],
        "rows": result.rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="raw/bridge rounds, interleaved")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="bridge processes")
    parser.add_argument("--pg-dsn", default=DSN)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source, data = prepare(Path(tmp), args.rows)
        with throwaway_database(args.pg_dsn, "bridge") as dsn:
            raws, bridges = run_rounds(source, data, dsn, args)
    report(args.rows, raws, bridges)
    print(f"workers {args.workers}, batch {args.batch:,}")


def prepare(tmp: Path, rows: int) -> tuple[Path, bytes]:
    """Make the SQLite source and its CSV; return the source's path and the CSV bytes."""
    source, text = tmp / "source.db", tmp / "rows.csv"
    started = time.perf_counter()
    make_source(source, rows)
    write_csv(source, text)
    data = text.read_bytes()
    seconds = time.perf_counter() - started
    print(f"made {rows:,} rows ({len(data) / 1e6:.0f} MB of CSV) in {seconds:.1f} s")
    return source, data


def run_rounds(
    source: Path, data: bytes, dsn: str, args: argparse.Namespace
) -> tuple[list[float], list[dict[str, float]]]:
    """Run raw and bridge copies alternately; return their timings."""
    raws: list[float] = []
    bridges: list[dict[str, float]] = []
    for number in range(1, args.rounds + 1):
        raws.append(raw_copy(dsn, data))
        bridge = bridge_copy(source, dsn, args.batch, args.workers)
        bridges.append(bridge)
        print(
            f"round {number}: raw {raws[-1]:.2f} s, bridge {bridge['total']:.2f} s "
            f"(copy {bridge['copy']:.2f} s + verify {bridge['verify']:.2f} s), "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    return raws, bridges


def report(rows: int, raws: list[float], bridges: list[dict[str, float]]) -> None:
    """Print medians (and the best round) of rows/s, and bridge time over raw per round."""
    totals = [b["total"] for b in bridges]
    copies = [b["copy"] for b in bridges]
    ratios = [raw / total for raw, total in zip(raws, totals, strict=True)]
    copy_ratios = [raw / copy for raw, copy in zip(raws, copies, strict=True)]
    print(f"\nSQLite -> PostgreSQL, {rows:,} rows, {len(raws)} rounds: median (best)")
    print(f"  raw COPY from CSV        {_rate(rows, raws)} rows/s")
    print(f"  bridge, copy + verify    {_rate(rows, totals)} rows/s  {_share(ratios)} of raw")
    print(f"  bridge, copy phase only  {_rate(rows, copies)} rows/s  {_share(copy_ratios)} of raw")
    print("targets: >= 100,000 rows/s and >= 50 % of raw COPY (copy + verify)")


def _rate(rows: int, seconds: list[float]) -> str:
    return f"{rows / statistics.median(seconds):>9,.0f} ({rows / min(seconds):,.0f})"


def _share(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.0%} ({max(ratios):.0%})"


if __name__ == "__main__":
    main()
