"""copy_table between every ordered pair of engines, resumed, restarted, and verified."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from components.bridge import Progress, copy_table
from components.bridge.checkpoint import Checkpoints
from components.datastore import Adapter, Insert, Order, Select
from mobo.exceptions import BridgeError, UnsupportedFeature, VerificationFailed

from .conftest import ENGINES, table_name

MIXED = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, small INT, big BIGINT, "
    "amount NUMERIC(12,2), ratio REAL, label VARCHAR(40), note TEXT, ok BOOLEAN, "
    "at TIMESTAMP, atz TIMESTAMPTZ, doc JSON, day DATE, uid UUID, bin BLOB)",
    "postgres": "CREATE TABLE {t} (id bigint PRIMARY KEY, small integer, big bigint, "
    "amount numeric(12,2), ratio double precision, label varchar(40), note text, "
    "ok boolean, at timestamp, atz timestamptz, doc jsonb, day date, uid uuid, bin bytea)",
    "mysql": "CREATE TABLE {t} (id BIGINT PRIMARY KEY, small INT, big BIGINT, "
    "amount DECIMAL(12,2), ratio DOUBLE, label VARCHAR(40), note TEXT, ok BOOLEAN, "
    "at DATETIME(6), atz TIMESTAMP(6) NULL, doc JSON, day DATE, uid UUID, bin BLOB)",
}
ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "small": -5,
        "big": 9007199254740993,  # 2**53 + 1: not a float
        "amount": "12.50",
        "ratio": 0.1,
        "label": "héllo wörld 🐑",
        "note": "tab\there\nnew line, back\\slash, 'single' \"double\"",
        "ok": True,
        "at": "2024-01-01T10:00:00.123456",
        "atz": "2024-01-01T08:00:00+00:00",
        "doc": {"b": [1, 2.5, "x"], "a": None, "nested": {"k": True}},
        "day": "2024-02-29",
        "uid": "123e4567-e89b-12d3-a456-426614174000",
        "bin": b"\x00\xff\x10",
    },
    {"id": 2}
    | dict.fromkeys(("small", "big", "amount", "ratio", "label", "note"), None)
    | dict.fromkeys(("ok", "at", "atz", "doc", "day", "uid", "bin"), None),
    {
        "id": 3,
        "small": 2147483647,
        "big": -9223372036854775808,
        "amount": "-0.01",
        "ratio": -1e-05,
        "label": "",
        "note": "日本語のテキスト",
        "ok": False,
        "at": "1999-12-31T23:59:59",
        "atz": "2038-01-19T03:14:07+00:00",
        "doc": [1, 2, {"z": "ü"}],
        "day": "1970-01-01",
        "uid": "00000000-0000-0000-0000-000000000001",
        "bin": b"",
    },
] + [
    {
        "id": i,
        "small": i,
        "big": i * 10**12,
        "amount": f"{i}.{i % 100:02d}",
        "ratio": i / 3,
        "label": f"row {i}",
        "note": f"note {i}" * (i % 4),
        "ok": i % 2 == 0,
        "at": f"2024-03-{i % 28 + 1:02d}T12:00:{i % 60:02d}",
        "atz": f"2024-03-{i % 28 + 1:02d}T12:00:00.5+00:00",
        "doc": {"i": i},
        "day": f"2024-04-{i % 30 + 1:02d}",
        "uid": f"00000000-0000-0000-0000-{i:012d}",
        "bin": bytes([i % 256]),
    }
    for i in range(4, 40)
]
PAIRS = list(itertools.product(ENGINES, ENGINES))


def make_source(store: Adapter, rows: list[dict[str, Any]] = ROWS) -> str:
    name = table_name("src")
    store.raw(MIXED[store.engine].format(t=store.dialect.quote_ident(name)), ())
    store.refresh_schema()
    store.execute(Insert(name, rows))
    return name


def read(store: Adapter, table: str) -> list[dict[str, Any]]:
    rows = store.execute(Select(table, order=[Order("id")])).rows
    for row in rows:
        if row.get("amount") is not None:
            row["amount"] = Decimal(row["amount"])
    return rows


@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{s}-{d}" for s, d in PAIRS])
def test_round_trip_between_every_pair_of_engines(
    stores: dict[str, Adapter], src: str, dst: str
) -> None:
    source, target = stores[src], stores[dst]
    table = make_source(source)
    name = table_name("dst")
    reports: list[Progress] = []

    result = copy_table(source, table, target, name, batch=7, progress=reports.append)

    assert result.verified and result.rows == len(ROWS) and result.created
    assert len(result.checksum) == 16
    assert read(target, name) == read(source, table)
    kinds = {c.name: c.kind for c in target.refresh_schema().table(name).columns}
    assert kinds == {c.name: c.kind for c in source.introspect().table(table).columns}
    assert target.introspect().table(name).primary_key == ("id",)
    assert [r.rows for r in reports if r.phase == "copy"] == [7, 14, 21, 28, 35, 39]
    assert reports[-1].phase == "verify" and reports[-1].rows == len(ROWS)


def test_the_checksum_does_not_depend_on_the_engine(stores: dict[str, Adapter]) -> None:
    table = make_source(stores["sqlite"])
    checksums = {
        copy_table(stores["sqlite"], table, stores[engine], table_name("c")).checksum
        for engine in ENGINES
    }
    assert len(checksums) == 1


class Stop(Exception):
    """Raised from a progress callback to interrupt a copy."""


def stop_after(batches: int) -> Any:
    def progress(report: Progress) -> None:
        if report.phase == "copy" and report.batches >= batches:
            raise Stop(f"stopped after {report.batches} batches")

    return progress


@pytest.mark.parametrize(("src", "dst"), [("sqlite", "postgres"), ("postgres", "mysql")])
def test_an_interrupted_copy_resumes_without_duplicates(
    stores: dict[str, Adapter], src: str, dst: str
) -> None:
    source, target = stores[src], stores[dst]
    table, name = make_source(source), table_name("dst")

    with pytest.raises(Stop):
        copy_table(source, table, target, name, batch=5, progress=stop_after(3))

    job = Checkpoints(target).get(f"{source.name}.{table} -> {name}")
    assert job is not None and job.state == "failed" and job.error == "stopped after 3 batches"
    assert 15 <= job.rows < len(ROWS)
    assert len(read(target, name)) == job.rows  # the checkpoint matches what was written

    result = copy_table(source, table, target, name, batch=5)

    assert result.verified and result.rows == len(ROWS) and result.resumed_from == job.rows
    assert read(target, name) == read(source, table)
    assert Checkpoints(target).get(job.job).state == "done"  # type: ignore[union-attr]


def test_a_finished_copy_is_not_redone_unless_restarted(stores: dict[str, Adapter]) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table, name = make_source(source), table_name("dst")
    first = copy_table(source, table, target, name)

    with pytest.raises(BridgeError, match="already copied") as caught:
        copy_table(source, table, target, name)
    assert "--restart" in (caught.value.hint or "")

    again = copy_table(source, table, target, name, resume=False)
    assert again.rows == first.rows == len(ROWS) and again.checksum == first.checksum
    assert len(read(target, name)) == len(ROWS)


def test_rows_nobody_copied_are_never_overwritten(stores: dict[str, Adapter]) -> None:
    source, target = stores["sqlite"], stores["mysql"]
    table = make_source(source)
    name = make_source(target, ROWS[:1])  # the same shape, one row of its own

    for resume in (True, False):
        with pytest.raises(BridgeError, match="already has rows"):
            copy_table(source, table, target, name, resume=resume)
    assert len(read(target, name)) == 1


def test_an_existing_empty_target_table_is_used(stores: dict[str, Adapter]) -> None:
    source, target = stores["postgres"], stores["sqlite"]
    table = make_source(source)
    name = make_source(target, [])

    result = copy_table(source, table, target, name)

    assert result.verified and not result.created
    assert read(target, name) == read(source, table)


@pytest.mark.parametrize("dst", ["postgres", "mysql"])
def test_integers_go_into_an_existing_decimal_column(stores: dict[str, Adapter], dst: str) -> None:
    """Regression: the check-only path (a PostgreSQL target's fused COPY text) met the
    integers as ints where the decimal checks read text, and failed with a TypeError."""
    source, target = stores["sqlite"], stores[dst]
    table, name = table_name("src"), table_name("dst")
    source.raw(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, n INTEGER)', ())
    source.refresh_schema()
    source.execute(Insert(table, [{"id": i, "n": v} for i, v in enumerate([7, None, -3, 0])]))
    quoted = target.dialect.quote_ident(name)
    target.raw(f"CREATE TABLE {quoted} (id bigint PRIMARY KEY, n numeric(12,2))", ())
    target.refresh_schema()

    result = copy_table(source, table, target, name)

    assert result.verified and not result.created
    got = [(r["id"], r["n"]) for r in target.execute(Select(name, order=[Order("id")])).rows]
    assert [(i, None if n is None else Decimal(n)) for i, n in got] == [
        (0, Decimal(7)),
        (1, None),
        (2, Decimal(-3)),
        (3, Decimal(0)),
    ]


def test_a_source_written_during_the_copy_fails_verification(
    stores: dict[str, Adapter],
) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table, name = make_source(source), table_name("dst")

    def write_behind(report: Progress) -> None:
        if report.phase == "copy" and report.batches == 1:  # behind the checkpoint
            source.execute(Insert(table, [{"id": 0, "label": "late"}]))

    with pytest.raises(VerificationFailed, match="the source now has 40"):
        copy_table(source, table, target, name, batch=10, progress=write_behind)
    job = Checkpoints(target).get(f"{source.name}.{table} -> {name}")
    assert job is not None and job.state == "failed"


def test_a_table_without_primary_key_is_refused(stores: dict[str, Adapter]) -> None:
    source = stores["sqlite"]
    name = table_name("nokey")
    source.raw(f'CREATE TABLE "{name}" (a INTEGER, b TEXT)', ())

    with pytest.raises(BridgeError, match="no primary key"):
        copy_table(source, name, stores["postgres"], name)


def test_composite_keys_page_correctly(stores: dict[str, Adapter]) -> None:
    source, target = stores["mysql"], stores["postgres"]
    name = table_name("pairs")
    source.raw(
        f"CREATE TABLE `{name}` (a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT, "
        "PRIMARY KEY (a, b))",
        (),
    )
    source.refresh_schema()
    rows = [{"a": a, "b": b, "v": a * 10} for a in range(5) for b in ("x", "y", "z")]
    source.execute(Insert(name, rows))

    result = copy_table(source, name, target, name, batch=4)

    assert result.rows == 15
    got = target.execute(Select(name, order=[Order("a"), Order("b")])).rows
    assert got == sorted(rows, key=lambda r: (r["a"], r["b"]))
    assert target.introspect().table(name).primary_key == ("a", "b")


def test_arrays_copy_between_postgres_stores_only(stores: dict[str, Adapter]) -> None:
    source = stores["postgres"]
    name = table_name("arr")
    source.raw(f'CREATE TABLE "{name}" (id int PRIMARY KEY, tags text[], grid int[][])', ())
    source.refresh_schema()
    source.execute(Insert(name, [{"id": 1, "tags": ["a", "b,c", None], "grid": [[1, 2]]}]))

    copy_table(source, name, source, name + "_copy")

    assert source.execute(Select(name + "_copy")).rows == source.execute(Select(name)).rows
    with pytest.raises(UnsupportedFeature, match="arrays only between PostgreSQL"):
        copy_table(source, name, stores["sqlite"], name)


def test_keys_postgres_reads_as_text_page_correctly(stores: dict[str, Adapter]) -> None:
    source, target = stores["postgres"], stores["sqlite"]
    name = table_name("keys")
    source.raw(
        f'CREATE TABLE "{name}" (day date, uid uuid, amount numeric(8,2), PRIMARY KEY (day, uid))',
        (),
    )
    source.refresh_schema()
    rows = [
        {"day": f"2024-01-0{d}", "uid": f"00000000-0000-0000-0000-00000000000{u}", "amount": "1.10"}
        for d in range(1, 4)
        for u in range(1, 4)
    ]
    source.execute(Insert(name, rows))

    with pytest.raises(Stop):
        copy_table(source, name, target, name, batch=2, progress=stop_after(2))
    result = copy_table(source, name, target, name, batch=2)

    assert result.rows == 9 and result.resumed_from >= 4
    got = target.execute(Select(name, order=[Order("day"), Order("uid")])).rows
    assert [(r["day"], r["uid"]) for r in got] == [(r["day"], r["uid"]) for r in rows]
