"""The REST API's plain functions: query strings, ranges, JSON, bodies, relationships and
error statuses, without HTTP or a store (the permissions: tests/datastore/access)."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from components.datastore.schema import Column, ForeignKey, Kind, Schema, Table
from components.gateway.errors import ApiError
from components.gateway.postgrest.media import Media
from components.gateway.rest import bodies, errors, relations, render
from components.gateway.rest.call import query_pairs
from mobo.exceptions import ConfigError, UniqueViolation
from tests.gateway.rest_support import make_board


def test_query_pairs_keep_order_and_decode() -> None:
    assert query_pairs("a=eq.1&b&select=id,x%20y&c=like.a+b&&d=") == [
        ("a", "eq.1"), ("b", None), ("select", "id,x y"), ("c", "like.a b"), ("d", ""),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("lower", "shown", "total", "header", "status"),
    [
        (0, 10, None, "0-9/*", 200),
        (0, 0, None, "*/*", 200),
        (0, 10, 57, "0-9/57", 206),
        (0, 3, 3, "0-2/3", 200),
        (0, 0, 0, "*/0", 200),
        (15, 0, 15, "*/15", 206),
        (100, 0, 15, "*/15", 416),
    ],
)
def test_content_range_and_status(lower, shown, total, header, status) -> None:  # type: ignore[no-untyped-def]
    assert render.content_range(lower, shown, total) == header
    assert render.range_status(lower, shown, total) == status


def test_exact_numbers_are_written_as_bare_json_numbers() -> None:
    rows = [{"n": render.RawNumber.of("0.1000000000000000055511151231257827"), "s": 'x"y'}]
    text = render.dumps(rows, exact=True).decode()
    assert text == '[{"n":0.1000000000000000055511151231257827,"s":"x\\"y"}]'
    assert json.loads(text, parse_float=Decimal)[0]["n"] == Decimal(
        "0.1000000000000000055511151231257827"
    )
    assert render.RawNumber.of("NaN") == "NaN" and not isinstance(
        render.RawNumber.of("NaN"), render.RawNumber
    )
    assert render.dumps({"a": [1, None, True, {"b": "é"}]}, exact=True) == render.dumps(
        {"a": [1, None, True, {"b": "é"}]}
    )


@pytest.mark.parametrize("exact", [False, True])
def test_floats_json_cannot_hold_are_written_as_postgresql_spells_them(exact: bool) -> None:
    """PostgreSQL's to_json (so PostgREST) writes "NaN", "Infinity", "-Infinity"."""
    rows = [{"x": float("nan"), "y": [float("inf"), -float("inf"), 1.5], "t": "NaN here"}]
    text = render.dumps(rows, exact=exact).decode()
    assert text == '[{"x":"NaN","y":["Infinity","-Infinity",1.5],"t":"NaN here"}]'
    assert json.loads(text) == [{"x": "NaN", "y": ["Infinity", "-Infinity", 1.5], "t": "NaN here"}]
    assert render.dumps({"t": "Infinity", "n": 2.0}, exact=exact) == b'{"t":"Infinity","n":2.0}'


def test_strip_nulls_and_csv() -> None:
    assert render.strip_nulls([{"a": None, "b": {"c": None, "d": 1}}]) == [{"b": {"d": 1}}]
    csv = render.to_csv([{"a": 'x,"y"', "b": None, "c": True, "d": {"k": 1}}], ["a", "b", "c", "d"])
    assert csv == b'a,b,c,d\n"x,""y""",,true,"{""k"":1}"\n'


def test_bodies() -> None:
    assert bodies.decode(b'{"a": 1.50}', Media.JSON) == {"a": Decimal("1.50")}
    for bad in (b"", b"  ", b"{", b"\xff"):
        with pytest.raises(ApiError) as caught:
            bodies.decode(bad, Media.JSON)
        assert caught.value.body["message"] == "Empty or invalid json"
    assert bodies.decode(b"a,b\n1,NULL\n,x\n", Media.CSV) == [
        {"a": "1", "b": None},
        {"a": "", "b": "x"},
    ]
    assert bodies.decode(b"a=1&b=x+y", Media.FORM) == {"a": "1", "b": "x y"}
    table = Table("t", (Column("n", "numeric", Kind.DECIMAL), Column("f", "float8", Kind.FLOAT)))
    row = bodies.normalize(table, {"n": Decimal("1.10"), "f": Decimal("1.5"), "j": [Decimal("2")]})
    assert row == {"n": "1.10", "f": 1.5, "j": [2.0]}


def test_body_limit() -> None:
    with pytest.raises(ApiError) as caught:
        bodies.read_body(io.BytesIO(b"x" * 10), None, limit=5)
    assert caught.value.body["code"] == "MOBO413" and caught.value.status.startswith("413")
    with pytest.raises(ApiError):
        bodies.read_body(io.BytesIO(b""), 6, limit=5)
    assert bodies.read_body(io.BytesIO(b"12345"), 5, limit=5) == b"12345"


@pytest.mark.parametrize(
    ("code", "anonymous", "status"),
    [
        ("23505", False, 409),
        ("23503", False, 409),
        ("23502", False, 400),
        ("42501", True, 401),
        ("42501", False, 403),
        ("42P01", False, 404),
        ("42883", False, 404),
        ("25006", False, 405),
        ("P0001", False, 400),
        ("PT402", False, 402),
        ("08006", False, 503),
        ("53300", False, 503),
        ("XX000", False, 500),
        ("22P02", False, 400),
        ("PGRST003", False, 504),
        (None, False, 400),
    ],
)
def test_statuses_follow_postgrest(code, anonymous, status) -> None:  # type: ignore[no-untyped-def]
    assert errors.status_for(code, anonymous=anonymous) == status


def test_datastore_errors_keep_the_engines_words() -> None:
    exc = UniqueViolation("duplicate key", code="23505", details="Key (k)=(x) already exists.")
    error = errors.from_datastore(exc, anonymous=False)
    assert error.status.startswith("409")
    assert error.body == {
        "code": "23505",
        "message": "duplicate key",
        "details": "Key (k)=(x) already exists.",
        "hint": None,
    }


# -- permissions at app creation -------------------------------------------------------


def test_a_board_refuses_bad_permissions_at_app_creation(tmp_path: Path) -> None:
    from tests.gateway.rest_support import Board

    config = make_board(tmp_path / "home", {"engine": "sqlite", "path": str(tmp_path / "x.db")},
                        {"t": {"anon": ["fly"]}})  # fmt: skip
    with pytest.raises(ConfigError, match="fly is not an operation"):
        Board(config)


# -- relationships ------------------------------------------------------------------------


def _table(name: str, cols: tuple[str, ...], pk: tuple[str, ...] = ("id",), fks=()) -> Table:  # type: ignore[no-untyped-def]
    columns = tuple(Column(c, "int", Kind.INTEGER, primary_key=c in pk) for c in cols)
    return Table(name, columns, primary_key=pk, foreign_keys=tuple(fks))


SCHEMA = Schema(
    {
        "authors": _table("authors", ("id",)),
        "books": _table(
            "books",
            ("id", "author_id"),
            fks=[ForeignKey("books_author", ("author_id",), "authors", ("id",))],
        ),
        "films": _table("films", ("id",)),
        "actors": _table("actors", ("id",)),
        "roles": _table(
            "roles",
            ("film_id", "actor_id"),
            pk=("film_id", "actor_id"),
            fks=[
                ForeignKey("roles_film", ("film_id",), "films", ("id",)),
                ForeignKey("roles_actor", ("actor_id",), "actors", ("id",)),
            ],
        ),
        "people": _table("people", ("id",)),
        "msgs": _table(
            "msgs",
            ("id", "from_id", "to_id"),
            fks=[
                ForeignKey("msgs_from", ("from_id",), "people", ("id",)),
                ForeignKey("msgs_to", ("to_id",), "people", ("id",)),
            ],
        ),
        "staff": _table(
            "staff",
            ("id", "boss_id"),
            fks=[ForeignKey("staff_boss", ("boss_id",), "staff", ("id",))],
        ),
        "auth_users": _table("auth_users", ("id",)),
    },
    "public",
)


def find(table: str, target: str, hint: str | None = None) -> relations.Relationship:
    return relations.find(
        SCHEMA, SCHEMA.tables[table], target, hint, lambda t: not t.startswith("auth_")
    )


def test_relationship_kinds() -> None:
    assert find("books", "authors").cardinality == relations.M2O
    assert find("authors", "books").cardinality == relations.O2M
    m2m = find("films", "actors")
    assert m2m.cardinality == relations.M2M and m2m.junction is not None
    assert m2m.junction.table == "roles"
    assert find("films", "roles").cardinality == relations.O2M
    assert find("staff", "staff").cardinality == relations.O2M  # children by the table name
    assert find("staff", "boss_id").cardinality == relations.M2O  # the parent by the column


def test_ambiguity_and_hints() -> None:
    with pytest.raises(ApiError) as caught:
        find("msgs", "people")
    body = caught.value.body
    assert caught.value.status.startswith("300") and body["code"] == "PGRST201"
    assert len(body["details"]) == 2 and "'people!msgs_from'" in body["hint"]
    assert find("msgs", "people", "msgs_to").columns == ("to_id",)
    assert find("msgs", "people", "from_id").constraint == "msgs_from"
    with pytest.raises(ApiError) as caught:
        find("msgs", "people", "nope")
    assert caught.value.body["code"] == "PGRST200"
    assert "using the hint 'nope'" in caught.value.body["details"]
    with pytest.raises(ApiError):
        find("authors", "auth_users")  # hidden tables are not related to anything
