"""MagBridge's pieces without a database: types, mapping, spelling, checksum, keys."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from components.bridge.checksum import Checksum, canonical, canonical_json
from components.bridge.convert import BadValue, Refused, decimal_text
from components.bridge.keys import dump_key, load_key
from components.bridge.mapping import column_type
from components.bridge.typeinfo import TypeInfo, type_info
from components.datastore.schema import Column, Kind
from mobo.exceptions import UnsupportedFeature


def info(engine: str, spelled: str, kind: Kind) -> TypeInfo:
    return type_info(engine, Column("c", spelled, kind))


@pytest.mark.parametrize(
    ("engine", "spelled", "kind", "target", "expected"),
    [
        ("postgres", "smallint", Kind.INTEGER, "mysql", "SMALLINT"),
        ("postgres", "integer", Kind.INTEGER, "mysql", "INT"),
        ("sqlite", "INTEGER", Kind.INTEGER, "postgres", "bigint"),
        ("sqlite", "INT", Kind.INTEGER, "mysql", "BIGINT"),
        ("mysql", "tinyint(4) unsigned", Kind.INTEGER, "postgres", "smallint"),
        ("mysql", "int(10) unsigned", Kind.INTEGER, "postgres", "bigint"),
        ("mysql", "bigint(20) unsigned", Kind.INTEGER, "postgres", "numeric(20,0)"),
        ("postgres", "real", Kind.FLOAT, "mysql", "DOUBLE"),
        ("mysql", "float", Kind.FLOAT, "postgres", "real"),
        ("postgres", "numeric(12,2)", Kind.DECIMAL, "mysql", "DECIMAL(12,2)"),
        ("postgres", "numeric", Kind.DECIMAL, "mysql", "DECIMAL(65,30)"),
        ("postgres", "numeric", Kind.DECIMAL, "sqlite", "NUMERIC"),
        ("sqlite", "NUMERIC(10,3)", Kind.DECIMAL, "postgres", "numeric(10,3)"),
        ("postgres", "character varying(20)", Kind.TEXT, "sqlite", "VARCHAR(20)"),
        ("postgres", "character(3)", Kind.TEXT, "postgres", "character(3)"),
        ("mysql", "char(3)", Kind.TEXT, "postgres", "varchar(3)"),
        ("mysql", "mediumtext", Kind.TEXT, "postgres", "text"),
        (
            "postgres",
            "text",
            Kind.TEXT,
            "mysql",
            "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        ),
        ("postgres", "jsonb", Kind.JSON, "mysql", "JSON"),
        ("mysql", "longtext", Kind.JSON, "mysql", "JSON"),
        ("postgres", "timestamp with time zone", Kind.TIMESTAMPTZ, "mysql", "TIMESTAMP(6)"),
        ("mysql", "datetime(6)", Kind.TIMESTAMP, "postgres", "timestamp"),
        ("sqlite", "BLOB", Kind.BYTES, "mysql", "LONGBLOB"),
        ("postgres", "integer[]", Kind.ARRAY, "postgres", "integer[]"),
        ("postgres", "interval", Kind.OTHER, "postgres", "interval"),
    ],
)
def test_column_types_map_per_engine_pair(
    engine: str, spelled: str, kind: Kind, target: str, expected: str
) -> None:
    assert (
        column_type(info(engine, spelled, kind), target, in_key=False, mysql_uuid=True) == expected
    )


def test_key_columns_on_mysql_get_bounded_types() -> None:
    text = info("postgres", "text", Kind.TEXT)
    assert column_type(text, "mysql", in_key=True, mysql_uuid=True).startswith("VARCHAR(255)")
    uid = info("postgres", "uuid", Kind.UUID)
    assert column_type(uid, "mysql", in_key=False, mysql_uuid=False).startswith("CHAR(36)")


@pytest.mark.parametrize(
    ("spelled", "kind", "target"),
    [("text[]", Kind.ARRAY, "sqlite"), ("interval", Kind.OTHER, "mysql")],
)
def test_unportable_types_are_refused(spelled: str, kind: Kind, target: str) -> None:
    with pytest.raises(UnsupportedFeature):
        column_type(info("postgres", spelled, kind), target, in_key=False, mysql_uuid=True)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12, "12"),
        (12.5, "12.5"),
        (100.0, "100"),
        (1e-05, "0.00001"),
        (1e20, "100000000000000000000"),
        ("12.50", "12.5"),
        ("-0.00", "0"),
        (Decimal("1E+2"), "100"),
        (Decimal("0.000000010"), "0.00000001"),
        ("NaN", "NaN"),
        (float("inf"), "Infinity"),
    ],
)
def test_decimals_are_spelled_plainly(value: object, text: str) -> None:
    assert decimal_text(value) == text


@pytest.mark.parametrize("value", ["abc", "1_000", " 1", "١٢", True])
def test_what_is_not_a_number_is_refused(value: object) -> None:
    with pytest.raises(Refused):
        decimal_text(value)


def test_json_is_spelled_with_sorted_keys_and_normalised_numbers() -> None:
    assert canonical_json('{"b": [1, 2.50, 1e2], "a": null}') == '{"a":null,"b":[1,2.5,100]}'
    assert canonical_json('{"a":1}') == canonical_json('{ "a" : 1.0 }')


def test_a_failing_value_is_found_with_its_row() -> None:
    spell = canonical(Kind.JSON)
    with pytest.raises(BadValue) as caught:
        spell(['{"a": 1}', None, "{not json"])
    assert caught.value.index == 2 and caught.value.refused.code == "22P02"


def test_the_checksum_ignores_order_but_counts_duplicates() -> None:
    columns = [["1", "2", "3"], ["a", "b", "c"]]
    shuffled = [["3", "1", "2"], ["c", "a", "b"]]
    assert Checksum().plus(columns, 3) == Checksum().plus(shuffled, 3)
    in_two = Checksum().plus([["1"], ["a"]], 1).plus([["2", "3"], ["b", "c"]], 2)
    assert in_two == Checksum().plus(columns, 3)
    doubled = [["1", "1", "3"], ["a", "a", "c"]]
    assert Checksum().plus(doubled, 3) != Checksum().plus(columns, 3)
    swapped = [["1", "2", "3"], ["b", "a", "c"]]
    assert Checksum().plus(swapped, 3) != Checksum().plus(columns, 3)


def test_the_checksum_survives_its_hex_form() -> None:
    checksum = Checksum().plus([["1", "2"]], 2)
    assert Checksum.from_hex(2, checksum.hex) == checksum and len(checksum.hex) == 16


def test_keys_keep_their_driver_types() -> None:
    key = (
        7,
        "x",
        Decimal("1.50"),
        b"\x00\xff",
        dt.datetime(2024, 1, 1, 10, 0, tzinfo=dt.UTC),
        dt.date(2024, 2, 29),
        dt.time(10, 30),
        uuid.UUID(int=1),
        None,
        True,
    )
    assert load_key(dump_key(key)) == key
    assert [type(v) for v in load_key(dump_key(key))] == [type(v) for v in key]


def test_a_row_hash_is_md5_of_its_text_first_8_bytes_big_endian() -> None:
    import hashlib

    from components.bridge.checksum import NULL, SEPARATOR

    columns = [["1", "2"], ["héllo", NULL]]
    expected = sum(
        int(hashlib.md5(f"{a}{SEPARATOR}{b}".encode()).hexdigest()[:16], 16)
        for a, b in zip(*columns, strict=True)
    )
    assert Checksum().plus(columns, 2).total == expected % 2**64


def test_a_value_holding_the_row_separator_is_hashed_with_its_row() -> None:
    from components.bridge.checksum import row_hash

    columns = [["1", "2"], ["a\x1eb", "c"]]
    expected = row_hash(b"1\x1fa\x1eb") + row_hash(b"2\x1fc")
    assert Checksum().plus(columns, 2).total == expected % 2**64


def test_checkpoints_tell_earlier_checksums_apart() -> None:
    checksum = Checksum().plus([["1"]], 1)
    assert checksum.recorded == "md5:" + checksum.hex
    assert Checksum.from_recorded(1, checksum.recorded) == checksum
    assert Checksum.from_recorded(1, checksum.hex) is None  # a BLAKE2b sum: cannot go on
    assert Checksum.from_recorded(0, "0" * 16) == Checksum()


@pytest.mark.parametrize(
    ("source", "target", "needless"),
    [
        (("sqlite", "INTEGER"), ("postgres", "bigint"), True),
        (("sqlite", "SMALLINT"), ("postgres", "bigint"), True),
        (("sqlite", "SMALLINT"), ("postgres", "smallint"), False),  # SQLite enforces no width
        (("sqlite", "INTEGER"), ("postgres", "integer"), False),
        (("postgres", "integer"), ("postgres", "bigint"), True),
        (("mysql", "int(10) unsigned"), ("postgres", "integer"), False),
        (("mysql", "int(10) unsigned"), ("postgres", "bigint"), True),
        (("postgres", "bigint"), ("sqlite", "INTEGER"), True),
    ],
)
def test_integer_checks_a_source_cannot_fail_are_skipped(
    source: tuple[str, str], target: tuple[str, str], needless: bool
) -> None:
    from components.bridge.bounds import ints_fit

    assert ints_fit(info(*source, Kind.INTEGER), info(*target, Kind.INTEGER)) is needless


@pytest.mark.parametrize(
    ("source", "target", "needless"),
    [
        (("postgres", "numeric(12,2)"), ("postgres", "numeric(12,2)"), True),
        (("postgres", "numeric(12,2)"), ("postgres", "numeric"), True),
        (("postgres", "numeric(12,2)"), ("postgres", "numeric(13,3)"), True),
        (("postgres", "numeric(12,2)"), ("postgres", "numeric(12,3)"), False),
        (("postgres", "numeric(12,2)"), ("postgres", "numeric(11,2)"), False),
        (("postgres", "numeric(12,2)"), ("postgres", "numeric(12,1)"), False),
        (("postgres", "numeric"), ("postgres", "numeric(12,2)"), False),
        (("postgres", "numeric(12,2)"), ("mysql", "decimal(12,2)"), False),  # NaN
        (("mysql", "decimal(12,2)"), ("postgres", "numeric(12,2)"), True),
        (("sqlite", "NUMERIC(12,2)"), ("postgres", "numeric(12,2)"), False),  # not enforced
    ],
)
def test_decimal_checks_a_source_cannot_fail_are_skipped(
    source: tuple[str, str], target: tuple[str, str], needless: bool
) -> None:
    from components.bridge.bounds import decimals_fit

    assert decimals_fit(info(*source, Kind.DECIMAL), info(*target, Kind.DECIMAL)) is needless


def test_a_short_decimal_is_checked_for_places_but_not_scanned_for_digits() -> None:
    from components.bridge.encode import checker

    check = checker(
        info("sqlite", "NUMERIC", Kind.DECIMAL), info("postgres", "numeric(4,2)", Kind.DECIMAL)
    )
    assert check(["1.5", "-12.25", None, "NaN"]) == ["1.5", "-12.25", None, "NaN"]
    for bad in ("1.255", "123.5", "-0123.5"):
        with pytest.raises(BadValue):
            check(["1.5", bad])
