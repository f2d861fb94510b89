"""A value the target cannot hold stops the copy, naming the row and the column."""

from __future__ import annotations

from typing import Any

import pytest

from components.bridge import copy_table
from components.bridge.checkpoint import Checkpoints
from components.datastore import Adapter, Cond, Select, Update
from mobo.exceptions import UnrepresentableValue

from .conftest import table_name


def source_table(store: Adapter, columns: str, rows: list[tuple[Any, ...]]) -> str:
    """Create a table (`id` + `columns`) and fill it with raw SQL, as a legacy app might."""
    name = table_name("src")
    quoted = store.dialect.quote_ident(name)
    key = "INTEGER" if store.engine == "sqlite" else "INT"
    store.raw(f"CREATE TABLE {quoted} (id {key} PRIMARY KEY, {columns})", ())
    mark = store.dialect.placeholder
    for row in rows:
        store.raw(f"INSERT INTO {quoted} VALUES ({', '.join([mark] * len(row))})", row)
    store.refresh_schema()
    return name


def test_an_overlong_string_names_its_row_and_resumes_once_fixed(
    stores: dict[str, Adapter],
) -> None:
    source, target = stores["sqlite"], stores["mysql"]
    rows = [(i, "x" * (300 if i == 7 else 10)) for i in range(1, 13)]
    table, name = source_table(source, "label VARCHAR(255)", rows), table_name("dst")

    with pytest.raises(UnrepresentableValue) as caught:
        copy_table(source, table, target, name, batch=5)

    error = caught.value
    assert (error.key, error.column, error.code) == ({"id": 7}, "label", "22001")
    assert "row id=7" in str(error) and "300 characters long" in str(error)
    assert "VARCHAR(255)" in (error.details or "").upper() and error.hint
    job = Checkpoints(target).get(f"{source.name}.{table} -> {name}")
    assert job is not None and (job.state, job.rows) == ("failed", 5)
    assert len(target.execute(Select(name)).rows) == 5  # nothing of the failed batch

    source.execute(Update(table, {"label": "fixed"}, Cond("id", "eq", 7)))
    result = copy_table(source, table, target, name, batch=5)
    assert (result.rows, result.resumed_from, result.verified) == (12, 5, True)


CASES = [
    # source engine, columns, bad value, target engine, SQLSTATE
    ("sqlite", "at TIMESTAMPTZ", "2100-01-01 00:00:00+00:00", "mysql", "22008"),
    ("sqlite", "at TIMESTAMP", "not a time", "postgres", "22007"),
    ("sqlite", "at TIMESTAMP", "10000-01-01 00:00:00", "postgres", "22007"),
    ("sqlite", "n SMALLINT", 40000, "postgres", "22003"),
    ("sqlite", "n INTEGER", 1.5, "mysql", "22P02"),
    ("sqlite", "amount NUMERIC(12,2)", 1.005, "postgres", "22003"),
    ("sqlite", "note TEXT", "nul\x00inside", "postgres", "22021"),
    ("postgres", "ratio double precision", float("nan"), "mysql", "22003"),
    ("postgres", "ratio double precision", float("nan"), "sqlite", "22003"),
    ("postgres", "amount numeric", "NaN", "mysql", "22003"),
    ("postgres", "amount numeric(30,0)", 123456789012345678901234567890, "sqlite", "22003"),
    ("mysql", "n BIGINT UNSIGNED", 2**64 - 1, "sqlite", "22003"),
]


@pytest.mark.parametrize(("src", "columns", "bad", "dst", "code"), CASES)
def test_values_the_target_cannot_hold_are_refused(
    stores: dict[str, Adapter], src: str, columns: str, bad: Any, dst: str, code: str
) -> None:
    good = None
    table = source_table(stores[src], columns, [(1, good), (2, bad), (3, good)])

    with pytest.raises(UnrepresentableValue) as caught:
        copy_table(stores[src], table, stores[dst], table_name("dst"), batch=2)

    error = caught.value
    assert (error.key, error.column, error.code) == ({"id": 2}, columns.split()[0], code)


def test_text_that_is_not_utf8_is_refused(stores: dict[str, Adapter]) -> None:
    source = stores["sqlite"]
    table = source_table(source, "note TEXT", [(1, "ok")])
    source.raw(f"INSERT INTO \"{table}\" VALUES (2, CAST(X'68C3FF' AS TEXT))", ())

    with pytest.raises(UnrepresentableValue, match="not valid UTF-8") as caught:
        copy_table(source, table, stores["postgres"], table_name("dst"))
    assert (caught.value.key, caught.value.column, caught.value.code) == (
        {"id": 2},
        "note",
        "22021",
    )


@pytest.mark.parametrize("dst", ["postgres", "mysql", "sqlite"])
def test_what_only_the_engine_refuses_is_named_too(stores: dict[str, Adapter], dst: str) -> None:
    source, target = stores["sqlite"], stores[dst]
    table = source_table(source, "label TEXT", [(i, None if i == 4 else "x") for i in range(1, 7)])
    name = table_name("dst")
    quoted = target.dialect.quote_ident(name)
    key = "INTEGER" if dst == "sqlite" else "BIGINT"
    target.raw(f"CREATE TABLE {quoted} (id {key} PRIMARY KEY, label TEXT NOT NULL)", ())

    with pytest.raises(UnrepresentableValue) as caught:
        copy_table(source, table, target, name, batch=3)

    error = caught.value
    assert (error.key, error.column, error.code) == ({"id": 4}, "label", "23502")
    assert len(target.execute(Select(name)).rows) == 3
