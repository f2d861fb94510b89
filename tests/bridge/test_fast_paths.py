"""MagBridge's whole-column shortcuts give what value-by-value conversion gives, NULLs,
odd values and refusals included; per-batch text checks read timestamps back unpadded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from components.bridge import copy_table
from components.bridge.batchcheck import BatchCheck
from components.bridge.checksum import NULL, canonical
from components.bridge.convert import BadValue, check, decimal_text, each
from components.bridge.decode import DECIMALS, DECODERS, _aware, _naive
from components.bridge.encode import decimal_fits, length, no_nul
from components.bridge.typeinfo import TypeInfo
from components.datastore import Adapter
from components.datastore.schema import Kind
from mobo.exceptions import VerificationFailed

from .conftest import table_name
from .test_batchcheck import (  # noqa: F401 -- checks: a fixture
    PG_DDL,
    SQLITE_DDL,
    before_insert,
    checks,
    make,
)

STAMPS = [
    ["2024-01-01 10:00:00"] * 3,
    ["2024-01-01 10:00:00", "2024-01-01T10:00:00.250000", "2024-02-29 23:59:59"],
    ["2024-01-01 10:00:00", None, "2024-03-01 00:00:01", None],
    [None, None],
    ["2024-02-30 10:00:00", "2024-01-01 10:00:00"],  # not a date
    ["2024-01-01 10:00:00", "2024-01-01 24:00:00"],  # not a time
    ["2024-01-01 10:00:00", "2024-01-01 10:00:00.000000"],  # canonical only when parsed
    ["2024-01-01 10:00:00", "2024-01-01 10:00:00.5"],
    ["2024-01-01 10:00:00", dt.datetime(2024, 1, 1, 10, 0, 1)],
    ["2024-01-01 10:00:00", 1700000000],  # a number is not a timestamp
    ["2024-01-01 10:00:00", "2024-01-01 10:00:00\n2024-01-01 10:00:00"],
    ["2024-01-01 10:00:00+00", "2024-01-01 10:00:00+02:00", "2024-01-01T10:00:00+00:00"],
]


def outcome(fn: Any, column: list[object]) -> object:
    try:
        return fn(column)
    except BadValue as exc:
        return ("refused", exc.index, exc.refused.code, exc.refused.reason)


@pytest.mark.parametrize("column", STAMPS)
@pytest.mark.parametrize(("kind", "one"), [(Kind.TIMESTAMP, _naive), (Kind.TIMESTAMPTZ, _aware)])
def test_timestamp_columns_are_spelled_as_value_by_value(
    column: list[object], kind: Kind, one: Any
) -> None:
    assert outcome(DECODERS[kind], column) == outcome(each(one, code="22007"), column)


@pytest.mark.parametrize(
    "column",
    [
        [1.5, 2, 0.1 + 0.2, 12.25],
        [1.0, 2.5, -0.0, 100.0],
        [None, 1.25, None, 3],
        [1e16, 5e-7, 2.5],
        [float("nan"), 1.5],
        ["12.50", "3"],
        [2.5, "x"],
    ],
)
def test_sqlite_decimal_columns_are_spelled_as_value_by_value(column: list[object]) -> None:
    assert outcome(DECIMALS["sqlite"], column) == outcome(each(decimal_text), column)


def test_integers_are_spelled_as_str_does_and_decimal_text_read_back_is_kept() -> None:
    spell = canonical(Kind.INTEGER)
    assert spell([0, -(2**63), 2**63 - 1, None, 42]) == ["0", str(-(2**63)), str(2**63 - 1),
                                                         NULL, "42"]  # fmt: skip
    assert spell(["12", "1000000000000000000000", None]) == ["12", "1000000000000000000000", NULL]


TARGET = TypeInfo("postgres", Kind.DECIMAL, "numeric(6,2)", precision=6, scale=2)


@pytest.mark.parametrize(
    ("convert", "column", "index"),
    [
        (decimal_fits(TARGET), ["1.5", None, "2.125", None], 2),
        (decimal_fits(TARGET), [None, "12345.5", "1"], 1),
        (decimal_fits(TARGET), ["1.5", None, "NaN"], None),
        (decimal_fits(TARGET), [None, None], None),
        (no_nul(TARGET), [None, "a", "b\x00"], 2),
        (length(TypeInfo("postgres", Kind.TEXT, "varchar(2)", length=2)), ["ab", None, "abc"], 2),
    ],
)
def test_checks_skip_nulls_and_name_the_refused_value(
    convert: Any, column: list[object], index: int | None
) -> None:
    found = outcome(convert, column)
    if index is None:
        assert found == column
    else:
        assert isinstance(found, tuple) and found[1] == index
    if None in column:  # as on the column without its NULLs
        without = [v for v in column if v is not None]
        assert (outcome(convert, without) == without) == (index is None)


def test_a_check_that_fails_on_a_non_null_value_is_not_retried_into_success() -> None:
    with pytest.raises(BadValue):
        check([None, 5, 11], lambda vs: max(vs) <= 10, lambda v: v)  # type: ignore[arg-type]


WHOLE = [
    {"id": i, "n": i, "label": f"r{i}", "amount": f"{i}.5",
     "at": None if i % 4 == 0 else f"2024-03-01T12:00:{i % 60:02d}"}
    for i in range(1, 21)
]  # fmt: skip


FRACTIONS_LATER = [*WHOLE[:10], *({**r, "at": r["at"] and r["at"] + ".5"} for r in WHOLE[10:])]


@pytest.mark.parametrize(
    ("rows", "unpadded"),
    [(WHOLE, True), (FRACTIONS_LATER, False)],
    ids=["whole seconds: unpadded text", "fractions from the third batch: padded text"],
)
def test_batches_are_verified_by_text_padded_once_fractions_appear(
    stores: dict[str, Adapter],
    checks: list[BatchCheck],  # noqa: F811
    rows: list[dict[str, object]],
    unpadded: bool,
) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table = make(source, SQLITE_DDL, rows)

    result = copy_table(source, table, target, table_name("dst"), batch=5, workers=1)

    assert result.verified and result.rows == len(rows)
    assert checks[-1].unpadded is unpadded
    assert (checks[-1].by_text, checks[-1].by_checksum) == (4, 0)


def test_a_fraction_added_by_the_target_fails_an_unpadded_batch(
    stores: dict[str, Adapter],
    checks: list[BatchCheck],  # noqa: F811
) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table = make(source, SQLITE_DDL, WHOLE)
    name = make(target, PG_DDL, [])
    before_insert(
        target, name, "IF NEW.id = 7 THEN NEW.at := NEW.at + interval '1 microsecond'; END IF;"
    )

    with pytest.raises(VerificationFailed, match=r"after id=5 up to id=10 does not match"):
        copy_table(source, table, target, name, batch=5, workers=1)
