"""Plain reads of cached plans on PostgreSQL: dates and times loaded as the server's text
and respelt by the generated row builder (values.RESPELL_ISO, a call per value) spell
exactly as `isoformat()` would, whatever the fraction's length, and keep what `datetime`
cannot hold as PostgreSQL spelt it."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from components.datastore import Adapter, Column, Cond, Order, Select
from components.datastore.plans import RowShape, compiled
from components.datastore.values import RESPELL_ISO, iso_from_pg_timestamp
from tests.datastore.conftest import open_store


def test_the_timestamp_respelling_keeps_a_bc_timestamp_as_postgres_spelt_it() -> None:
    text = "0044-03-15 10:00:00.123 BC"  # 26 characters, as a timestamp with six digits
    assert iso_from_pg_timestamp(text) == text


def test_a_compiled_builder_keeps_the_last_of_repeated_keys() -> None:
    shape = RowShape(("a", "b", "a"), ())
    rows = [(1, "2024-01-01 08:00:00+00", 3)] * 9
    spellings = tuple(RESPELL_ISO.get(kind) for kind in ("integer", "timestamptz", "integer"))
    for fetched in (rows, rows[:1]):
        expected = [{"a": 3, "b": "2024-01-01T08:00:00+00:00"} for _ in fetched]
        assert compiled(shape, spellings).text_build(fetched) == expected  # type: ignore[misc]
        assert compiled(shape).build(fetched) == shape.rows(fetched)  # type: ignore[misc]


# Rows of every fraction length PostgreSQL spells (it trims trailing zeros), and a BC one.
DDL = [
    "CREATE TABLE stamps (id integer PRIMARY KEY, tz timestamptz, naive timestamp, "
    "day date, clock time)",
]


@pytest.fixture(scope="module")
def stamps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapter]:
    with open_store("postgres", tmp_path_factory.mktemp("pg"), []) as adapter:
        adapter.raw(DDL[0])
        for digits in range(7):
            fraction = "" if not digits else "." + "123456"[: digits - 1] + "7"
            adapter.raw(
                "INSERT INTO stamps SELECT %s * 100 + g, t, t::timestamp, t::date, t::time "
                "FROM (SELECT g, %s::timestamptz - g * interval '1 minute' AS t "
                "FROM generate_series(1, 30) g) s",
                (digits, f"2024-01-01 08:00:00{fraction}+00"),
            )
        adapter.raw(
            "INSERT INTO stamps VALUES (900, '0044-03-15 10:00:00.123 BC', "
            "'0044-03-15 10:00:00.123 BC', '0044-03-15 BC', '24:00:00')"
        )
        adapter.refresh_schema()
        yield adapter


@pytest.mark.parametrize("digits", range(7))
@pytest.mark.parametrize("limit", [1, 8, 20])
def test_plain_reads_of_many_rows_spell_isoformat(stamps: Adapter, digits: int, limit: int) -> None:
    where = Cond("id", "gt", digits * 100)
    query = Select("stamps", where=where, order=[Order("id")], limit=limit)
    assert stamps._plans.select(query)[0].shape.text_build is not None  # type: ignore[attr-defined]
    plain = stamps.execute(query).rows
    with stamps.transaction(read_only=True) as tx:  # the statement cursor's IsoLoader
        assert stamps.execute(query, tx=tx).rows == plain
    with psycopg.connect(stamps.settings.dsn, autocommit=True) as conn:  # type: ignore[attr-defined]
        conn.execute("SET TIME ZONE 'UTC'")
        native = conn.execute(
            "SELECT * FROM stamps WHERE id > %s ORDER BY id LIMIT %s", (digits * 100, limit)
        ).fetchall()
    assert [list(row.values()) for row in plain] == [
        [row[0], *(v.isoformat() for v in row[1:])] for row in native
    ]


def test_plain_reads_of_many_rows_with_a_bc_value_keep_postgres_spelling(stamps: Adapter) -> None:
    query = Select("stamps", ["id", "tz", "naive"], Cond("id", "gt", 600), [Order("id")])
    rows = stamps.execute(query).rows
    assert len(rows) == 31
    assert rows[-1] == {
        "id": 900,
        "tz": "0044-03-15 10:00:00.123+00 BC",
        "naive": "0044-03-15 10:00:00.123 BC",
    }
    assert rows[0]["tz"] == "2024-01-01T07:59:00.123457+00:00"
    one = stamps.execute(Select("stamps", [Column("naive")], Cond("id", "eq", 900))).rows
    assert one == [{"naive": "0044-03-15 10:00:00.123 BC"}]
