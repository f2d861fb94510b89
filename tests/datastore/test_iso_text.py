"""Dates and times read as text by the PostgreSQL adapter's statements are spelt exactly
as `isoformat()` spells what psycopg would have loaded (the REST API's wire format)."""

from __future__ import annotations

import random

import psycopg
from psycopg.types.string import TextLoader

from components.datastore.values import iso_from_pg
from tests.datastore.conftest import PG_DSN

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
