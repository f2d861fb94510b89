"""Dates and times read as text by the PostgreSQL adapter's statements are spelt exactly
as `isoformat()` spells what psycopg would have loaded (the REST API's wire format)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.types.string import TextLoader

from components.datastore import Adapter, Column, Cond, Order, Select
from components.datastore.values import iso_from_pg
from tests.datastore.conftest import PG_DSN, open_store

SQL = (
    "SELECT t, t::timestamp, t::time, t::timetz FROM (SELECT to_timestamp(x) + "
    "make_interval(secs => y) AS t FROM unnest(%s::float8[], %s::float8[]) AS u(x, y)) s"
)


def test_iso_text_matches_isoformat_for_every_temporal_type() -> None:
    rng = random.Random(7)
    xs = [rng.uniform(-6e10, 2.5e11) for _ in range(3000)] + [0.0, 1.0, 1.5, 1.000001]
    ys = [rng.choice([0.0, 0.5, 0.000001, 0.123, rng.random()]) for _ in xs]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for zone in ("UTC", "Asia/Kolkata", "America/St_Johns"):
            conn.execute(f"SET TIME ZONE '{zone}'")
            native = conn.execute(SQL, (xs, ys)).fetchall()
            cursor = conn.cursor()
            for name in ("timestamptz", "timestamp", "time", "timetz"):
                cursor.adapters.register_loader(name, TextLoader)
            texts = cursor.execute(SQL, (xs, ys)).fetchall()
            for loaded, text in zip(native, texts, strict=True):
                assert [v.isoformat() for v in loaded] == [iso_from_pg(t) for t in text]


def test_text_python_cannot_hold_is_kept_as_postgres_spelt_it() -> None:
    for text in ("infinity", "-infinity", "0044-03-15 10:00:00+00 BC", "24:00:00"):
        assert iso_from_pg(text) == text
    assert iso_from_pg("2024-01-01 08:00:00.5-03") == "2024-01-01T08:00:00.500000-03:00"


# Plain reads of cached plans load dates and times as PostgreSQL's text and respell them in
# the plan's generated row builder (plans.RowShape.text_build, values.RESPELL_ISO); reads in
# a transaction go through the statement cursor's IsoLoader. Both must spell alike.
TEMPORAL_DDL = [
    "CREATE TABLE moments (id integer PRIMARY KEY, tz timestamptz, naive timestamp, "
    "clock time, clocktz timetz, day date)",
    "INSERT INTO moments SELECT g, t, t::timestamp, t::time, t::timetz, t::date FROM "
    "(SELECT row_number() OVER () AS g, to_timestamp(x) + make_interval(secs => y) AS t "
    "FROM unnest(%s::float8[], %s::float8[]) AS u(x, y)) s",
    "INSERT INTO moments VALUES (-1, 'infinity', '-infinity', '24:00:00', '24:00:00+00', "
    "'infinity'), (-2, '0044-03-15 10:00:00+00 BC', '0044-03-15 10:00:00 BC', NULL, NULL, "
    "'0044-03-15 BC'), (-3, '12345-06-07 08:09:10.5+00', '12345-06-07 08:09:10.123456', "
    "'00:00:00.000001', '23:59:59.999999+00', '12345-06-07'), (-4, NULL, NULL, NULL, NULL, "
    "NULL), (-5, '2024-01-01 08:00:00+00', '2024-01-01 08:00:00', '08:00:00', "
    "'08:00:00+00', '2024-01-01'), (-6, '2024-01-01 08:00:00.12+00', "
    "'2024-01-01 08:00:00.1', '08:00:00.5', '08:00:00.5+00', '2024-01-01')",
]


@pytest.fixture(scope="module")
def moments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapter]:
    rng = random.Random(11)
    xs = [rng.uniform(-6e10, 2.5e11) for _ in range(3000)] + [0.0, 1.0, 1.5, 1.000001]
    ys = [rng.choice([0.0, 0.5, 0.000001, 0.123, rng.random()]) for _ in xs]
    with open_store("postgres", tmp_path_factory.mktemp("pg"), []) as adapter:
        adapter.raw(TEMPORAL_DDL[0])
        adapter.raw(TEMPORAL_DDL[1], (xs, ys))
        adapter.raw(TEMPORAL_DDL[2])
        adapter.refresh_schema()
        yield adapter


def test_plain_reads_spell_dates_and_times_as_isoformat(moments: Adapter) -> None:
    query = Select("moments", order=[Order("id")])
    assert moments._plans.select(query)[0].shape.text_build is not None  # the plain-read path
    plain = moments.execute(query).rows
    with moments.transaction(read_only=True) as tx:  # the statement cursor's IsoLoader
        in_tx = moments.execute(query, tx=tx).rows
    assert plain == in_tx
    assert len(plain) == 3010
    with psycopg.connect(moments.settings.dsn, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        native = conn.execute("SELECT * FROM moments WHERE id > 0 ORDER BY id").fetchall()
    expected = [[v.isoformat() for v in row[1:]] for row in native]
    assert [list(row.values())[1:] for row in plain if row["id"] > 0] == expected


def test_plain_reads_keep_what_datetime_cannot_hold_as_postgres_spelt_it(
    moments: Adapter,
) -> None:
    rows = moments.execute(Select("moments", where=Cond("id", "lt", 0))).rows
    special = {row.pop("id"): row for row in rows}
    assert special[-1] == {
        "tz": "infinity",
        "naive": "-infinity",
        "clock": "24:00:00",
        "clocktz": "24:00:00+00:00",
        "day": "infinity",
    }
    assert special[-2]["tz"] == "0044-03-15 10:00:00+00 BC"
    assert special[-2]["naive"] == "0044-03-15 10:00:00 BC"
    assert special[-2]["day"] == "0044-03-15 BC"
    assert special[-3]["tz"] == "12345-06-07 08:09:10.5+00"
    assert special[-3]["naive"] == "12345-06-07 08:09:10.123456"
    assert special[-4] == dict.fromkeys(("tz", "naive", "clock", "clocktz", "day"))
    assert special[-5]["tz"] == "2024-01-01T08:00:00+00:00"
    assert special[-5]["naive"] == "2024-01-01T08:00:00"
    assert special[-6]["tz"] == "2024-01-01T08:00:00.120000+00:00"
    assert special[-6]["naive"] == "2024-01-01T08:00:00.100000"


def test_plain_reads_in_another_time_zone_still_spell_isoformat(moments: Adapter) -> None:
    moments.raw("SET TIME ZONE 'Asia/Kolkata'")  # a session setting left on the connection
    try:
        query = Select("moments", ["id", "tz", "clocktz"], Cond("id", "gt", 0), [Order("id")])
        rows = moments.execute(query).rows
    finally:
        moments.raw("SET TIME ZONE 'UTC'")
    with psycopg.connect(moments.settings.dsn, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'Asia/Kolkata'")
        native = conn.execute("SELECT tz, clocktz FROM moments WHERE id > 0 ORDER BY id")
        expected = [[v.isoformat() for v in row] for row in native.fetchall()]
    assert [[row["tz"], row["clocktz"]] for row in rows] == expected
    assert rows[0]["tz"].endswith("+05:30")


def test_plans_that_may_hide_dates_in_other_types_are_read_with_the_iso_loader(
    moments: Adapter,
) -> None:
    query = Select("moments", [Column("tz", cast="text"), "naive"], Cond("id", "eq", -5))
    assert moments._plans.select(query)[0].shape.text_build is None
    assert moments.execute(query).rows == [
        {"tz": "2024-01-01 08:00:00+00", "naive": "2024-01-01T08:00:00"}
    ]
