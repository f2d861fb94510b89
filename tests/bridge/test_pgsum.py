"""The checksum PostgreSQL computes in SQL (pgsum.py) equals the one computed in Python."""

from __future__ import annotations

from typing import Any

import pytest

from components.bridge import copy_table
from components.bridge.checksum import Checksum
from components.bridge.pgsum import checksum_sql, server_checksum
from components.bridge.plan import plan_copy
from components.bridge.stream import Converters, Side, read_batches
from components.datastore import Adapter

from .conftest import table_name

TRICKY_TEXT = [
    "",
    "plain",
    "héllo wörld 🐑 日本語",
    "tab\there\nnew line\r\nback\\slash",
    "separators \x1e rows \x1f columns \x1d null-marker",
    "'quotes' \"double\" NULL \\N",
]
PG_DDL = (
    "CREATE TABLE {t} (id integer PRIMARY KEY, s smallint, b bigint, amount numeric(12,2), "
    "exact numeric, label varchar(60), note text, ok boolean, uid uuid, uid_text text, "
    "day date, clock time, at timestamp, atz timestamptz, bin bytea)"
)
PG_ROWS: list[tuple[Any, ...]] = [
    (1, -32768, -(2**63), "12.50", "0.000000010", "x", "y", True,
     "123E4567-E89B-12D3-A456-426614174000", "123e4567-e89b-12d3-a456-426614174000",
     "2024-02-29", "10:30:00", "2024-01-01 10:00:00.5", "2024-01-01 10:00:00+02", b"\x00\xff"),
    (2, *([None] * 14)),
    (3, 32767, 2**63 - 1, "-0.00", "NaN", "", "", False,
     "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000001",
     "0001-01-01", "23:59:59.999999", "9999-12-31 23:59:59.000001",
     "1970-01-01 00:00:00.000001+00", b""),
    (4, 0, 0, "1000000000.00", "123456789012345678901234567890.000000000000000000001",
     "🐑" * 60, "\\", True, None, None, "1999-12-31", "00:00:00.1", "2000-01-01 00:00:00",
     "2024-06-30 23:59:59.123-07:30", bytes(range(256))),
] + [
    (10 + i, i, i * 10**12, f"{i}.{i:02d}", str(i), text, text, i % 2 == 0, None, None,
     "2024-03-01", "12:00:00", "2024-03-01 12:00:00", "2024-03-01 12:00:00+00", text.encode())
    for i, text in enumerate(TRICKY_TEXT)
]  # fmt: skip


def pg_table(store: Adapter) -> str:
    name = table_name("sum")
    quoted = store.dialect.quote_ident(name)
    store.raw(PG_DDL.format(t=quoted), ())
    marks = ", ".join(["%s"] * len(PG_ROWS[0]))
    for row in PG_ROWS:
        store.raw(f"INSERT INTO {quoted} VALUES ({marks})", row)
    store.refresh_schema()
    return name


def both_checksums(store: Adapter, table: str) -> tuple[Checksum | None, Checksum]:
    """The table's checksum computed by PostgreSQL, and by reading its rows back in Python."""
    plan = plan_copy(store, table, store, table)
    side = Side.of(store, plan, target=True)
    convert = Converters(plan)
    client = Checksum()
    for rows in read_batches(side, 3, None):
        client = client.plus(convert.incoming(rows), len(rows))
    sql = checksum_sql(side.driver.table(table), plan.columns, side.driver.quote)
    assert sql is not None
    with store.transaction() as tx:
        return server_checksum(tx.connection, sql), client


def test_postgres_spells_tricky_values_as_python_does(stores: dict[str, Adapter]) -> None:
    store = stores["postgres"]
    table = pg_table(store)

    server, client = both_checksums(store, table)

    assert server is not None and server.rows == len(PG_ROWS)
    assert server == client


@pytest.mark.parametrize(
    ("column", "value"),
    [("note", "y "), ("amount", "12.51"), ("atz", "2024-01-01 10:00:00.000001+02"),
     ("bin", b"\x00\xfe"), ("ok", False), ("clock", "10:30:00.000001"), ("uid", None)],
)  # fmt: skip
def test_one_changed_value_changes_the_server_checksum(
    stores: dict[str, Adapter], column: str, value: object
) -> None:
    store = stores["postgres"]
    table = pg_table(store)
    before, _ = both_checksums(store, table)

    quoted = store.dialect.quote_ident(table)
    store.raw(
        f"UPDATE {quoted} SET {store.dialect.quote_ident(column)} = %s WHERE id = 1", (value,)
    )
    after, client = both_checksums(store, table)

    assert after != before and after == client


@pytest.mark.parametrize("src", ["sqlite", "mysql"])
def test_a_copy_into_postgres_is_verified_on_the_server(
    stores: dict[str, Adapter], src: str
) -> None:
    """The source's checksum (Python) equals the target's (SQL), tricky values and all."""
    source, target = stores[src], stores["postgres"]
    name = table_name("src")
    quoted = source.dialect.quote_ident(name)
    text = "TEXT" if src == "sqlite" else "LONGTEXT"
    stamp = "TIMESTAMP" if src == "sqlite" else "DATETIME(6)"
    source.raw(
        f"CREATE TABLE {quoted} (id INT PRIMARY KEY, note {text}, amount DECIMAL(12,2), "
        f"at {stamp}, bin BLOB)" + (" DEFAULT CHARSET=utf8mb4" if src == "mysql" else ""),
        (),
    )
    mark = source.dialect.placeholder
    rows = [
        (i, value, f"{i}.{i % 3}0" if i % 4 else None, f"2024-01-01 10:00:{i:02d}.5", b"\x00" * i)
        for i, value in enumerate([*TRICKY_TEXT, None, "last"], 1)
    ]
    for row in rows:
        source.raw(f"INSERT INTO {quoted} VALUES ({', '.join([mark] * 5)})", row)
    source.refresh_schema()

    result = copy_table(source, name, target, table_name("dst"), batch=2)

    assert result.verified and result.rows == len(rows)
    server, client = both_checksums(target, table_name_of(result.target))
    assert server == client == Checksum.from_hex(len(rows), result.checksum)


def table_name_of(ref: str) -> str:
    return ref.split(".", 1)[1]


def test_types_without_an_sql_spelling_fall_back_to_reading_back(
    stores: dict[str, Adapter],
) -> None:
    store = stores["postgres"]
    name = table_name("float")
    store.raw(f'CREATE TABLE "{name}" (id int PRIMARY KEY, ratio double precision, doc jsonb)', ())
    store.raw(f'INSERT INTO "{name}" VALUES (1, 0.1, %s), (2, NULL, NULL)', ('{"b": 1, "a": 2}',))
    store.refresh_schema()
    plan = plan_copy(store, name, store, name)
    side = Side.of(store, plan, target=True)

    assert checksum_sql(side.driver.table(name), plan.columns, side.driver.quote) is None
    result = copy_table(store, name, store, table_name("copy"))
    assert result.verified and result.rows == 2
