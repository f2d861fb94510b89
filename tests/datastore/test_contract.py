"""The adapter contract, run against real SQLite, PostgreSQL and MariaDB.

Every test runs once per engine on the same tables; where engines must differ (arrays,
server-specific types) the test says so.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from components.datastore import (
    ALL,
    Adapter,
    And,
    Column,
    Cond,
    Delete,
    Insert,
    Kind,
    Not,
    Or,
    Order,
    Select,
    Update,
    open_adapter,
)
from mobo.exceptions import (
    DatastoreUnavailable,
    ForeignKeyViolation,
    NotNullViolation,
    QueryError,
    UniqueViolation,
    UnknownIdentifier,
    UnsupportedFeature,
)
from tests.conftest import free_port

from .conftest import open_store

COMMON = [
    "CREATE TABLE teams (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE)",
    "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, "
    "email VARCHAR(100) UNIQUE, age INTEGER, active BOOLEAN, team_id INTEGER, "
    "status VARCHAR(20) NOT NULL DEFAULT 'new', "
    "CONSTRAINT people_team_fk FOREIGN KEY (team_id) REFERENCES teams (id))",
    "CREATE INDEX people_age_idx ON people (age)",
    "CREATE VIEW adults AS SELECT id, name, age FROM people WHERE age >= 18",
]
KINDS_DDL = {
    "postgres": "CREATE TABLE kinds (id INTEGER PRIMARY KEY, doc JSONB, at TIMESTAMPTZ, "
    "wall TIMESTAMP, day DATE, price NUMERIC(12,2), uid UUID, note TEXT, flag BOOLEAN, "
    "ratio DOUBLE PRECISION, big BIGINT, bin BYTEA)",
    "sqlite": "CREATE TABLE kinds (id INTEGER PRIMARY KEY, doc JSON, at TIMESTAMPTZ, "
    "wall DATETIME, day DATE, price NUMERIC(12,2), uid UUID, note TEXT, flag BOOLEAN, "
    "ratio DOUBLE PRECISION, big BIGINT, bin BLOB)",
    "mysql": "CREATE TABLE kinds (id INTEGER PRIMARY KEY, doc JSON, at TIMESTAMP(6) NULL, "
    "wall DATETIME(6), day DATE, price DECIMAL(12,2), uid UUID, note TEXT, flag BOOLEAN, "
    "ratio DOUBLE, big BIGINT, bin VARBINARY(64))",
}
ARRAYS_DDL = "CREATE TABLE tags (id INTEGER PRIMARY KEY, labels TEXT[], scores INTEGER[])"

TEAMS = [{"id": 1, "name": "red"}, {"id": 2, "name": "blue"}]
PEOPLE = [
    {"id": 1, "name": "Alice", "email": "alice@x", "age": 30, "active": True, "team_id": 1},
    {"id": 2, "name": "bob", "email": "bob@x", "age": 17, "active": False, "team_id": 2},
    {"id": 3, "name": "Carol", "email": None, "age": None, "active": None, "team_id": None},
    {"id": 4, "name": "Dave", "email": "dave@x", "age": 45, "active": True, "team_id": 1},
    {"id": 5, "name": "Ärger", "email": "erik@x", "age": 25, "active": False, "team_id": None},
]


@pytest.fixture(scope="module")
def store(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapter]:
    ddl = [*COMMON, KINDS_DDL[engine]] + ([ARRAYS_DDL] if engine == "postgres" else [])
    with open_store(engine, tmp_path_factory.mktemp(engine), ddl) as adapter:
        yield adapter


@pytest.fixture
def db(store: Adapter) -> Adapter:
    """The store with the seed rows, and nothing else, in its tables."""
    for table in ("people", "teams", "kinds"):
        store.execute(Delete(table))
    store.execute(Insert("teams", TEAMS))
    store.execute(Insert("people", PEOPLE))
    return store


def ids(db: Adapter, where: Any = None, **kwargs: Any) -> list[int]:
    rows = db.execute(Select("people", ["id"], where=where, **kwargs)).rows
    return [row["id"] for row in rows] if "order" in kwargs else sorted(r["id"] for r in rows)


# -- filters ----------------------------------------------------------------------------

FILTERS = [
    (Cond("age", "eq", 30), [1]),
    (Cond("age", "neq", 30), [2, 4, 5]),
    (Cond("age", "gt", 25), [1, 4]),
    (Cond("age", "gte", 25), [1, 4, 5]),
    (Cond("age", "lt", 25), [2]),
    (Cond("age", "lte", 25), [2, 5]),
    (Cond("name", "eq", "bob"), [2]),
    (Cond("name", "like", "%a%"), [3, 4]),
    (Cond("name", "like", "A%"), [1]),
    (Cond("name", "like", "_ob"), [2]),
    (Cond("email", "like", "%@x"), [1, 2, 4, 5]),
    (Cond("name", "ilike", "a%"), [1]),
    (Cond("name", "ilike", "%O%"), [2, 3]),
    (Cond("name", "ilike", "ä%"), [5]),
    (Cond("name", "like", "ä%"), []),
    (Cond("id", "in", [1, 3, 99]), [1, 3]),
    (Cond("name", "in", ["bob", "Dave"]), [2, 4]),
    (Cond("id", "in", []), []),
    (Cond("id", "in", [1, 2], negate=True), [3, 4, 5]),
    (Cond("age", "is", None), [3]),
    (Cond("age", "is", "null", negate=True), [1, 2, 4, 5]),
    (Cond("active", "is", True), [1, 4]),
    (Cond("active", "is", "false"), [2, 5]),
    (Cond("active", "is", True, negate=True), [2, 3, 5]),
    (Cond("active", "eq", True), [1, 4]),
    (Cond("name", "neq", "bob", negate=True), [2]),
    (And([Cond("age", "gte", 18), Cond("active", "is", True)]), [1, 4]),
    (Or([Cond("age", "lt", 18), Cond("team_id", "is", None)]), [2, 3, 5]),
    (
        Or([Cond("age", "eq", 17), Not(And([Cond("age", "gte", 20), Cond("age", "lte", 40)]))]),
        [2, 4],
    ),
    (Not(Or([Cond("id", "eq", 1), Cond("name", "ilike", "%e%")])), [2, 3]),
    (
        And([Cond("team_id", "eq", 1), Or([Cond("age", "gt", 40), Cond("name", "like", "Al%")])]),
        [1, 4],
    ),
    (And([]), [1, 2, 3, 4, 5]),
    (Or([]), []),
]


@pytest.mark.parametrize(("where", "expected"), FILTERS, ids=[repr(f[0])[:60] for f in FILTERS])
def test_filter(db: Adapter, where: Any, expected: list[int]) -> None:
    assert ids(db, where) == expected


def test_like_pattern_escapes_are_literal(db: Adapter) -> None:
    db.execute(Update("people", {"email": "100%_sure@x"}, Cond("id", "eq", 1)))
    assert ids(db, Cond("email", "like", "100\\%\\_sure@x")) == [1]
    assert ids(db, Cond("email", "like", "1000\\%%")) == []


# -- order, paging, count ---------------------------------------------------------------

ORDERS = [
    ([Order("age")], [2, 5, 1, 4, 3]),
    ([Order("age", desc=True)], [3, 4, 1, 5, 2]),
    ([Order("age", nulls="first")], [3, 2, 5, 1, 4]),
    ([Order("age", desc=True, nulls="last")], [4, 1, 5, 2, 3]),
    ([Order("active", desc=True, nulls="last"), Order("id")], [1, 4, 2, 5, 3]),
    ([Order("active", nulls="first"), Order("id", desc=True)], [3, 5, 2, 4, 1]),
]


@pytest.mark.parametrize(("order", "expected"), ORDERS)
def test_order_with_nulls(db: Adapter, order: list[Order], expected: list[int]) -> None:
    assert ids(db, order=order) == expected


def test_limit_and_offset(db: Adapter) -> None:
    assert ids(db, order=[Order("id")], limit=2, offset=1) == [2, 3]
    assert ids(db, order=[Order("id")], offset=3) == [4, 5]
    assert ids(db, order=[Order("id")], limit=0) == []


def test_exact_count_ignores_limit_and_offset(db: Adapter) -> None:
    page = db.execute(Select("people", ["id"], order=[Order("id")], limit=2, count=True))
    assert (page.count, [r["id"] for r in page.rows]) == (5, [1, 2])
    filtered = db.execute(
        Select("people", where=Cond("age", "is", None, negate=True), limit=1, count=True)
    )
    assert (filtered.count, len(filtered.rows)) == (4, 1)
    beyond = db.execute(Select("people", offset=10, count=True))
    assert (beyond.count, beyond.rows) == (5, [])
    assert db.execute(Select("people")).count is None


def test_select_columns_aliases_and_casts(db: Adapter) -> None:
    columns = [Column("name", alias="who"), Column("age", cast="text"), Column("id", alias="n")]
    rows = db.execute(Select("people", columns, where=Cond("id", "eq", 1))).rows
    assert rows == [{"who": "Alice", "age": "30", "n": 1}]


def test_select_star_lists_columns_in_schema_order(db: Adapter) -> None:
    row = db.execute(Select("people", where=Cond("id", "eq", 2))).rows[0]
    assert list(row) == ["id", "name", "email", "age", "active", "team_id", "status"]
    assert row == {**PEOPLE[1], "status": "new"}


def test_select_from_a_view(db: Adapter) -> None:
    rows = db.execute(Select("adults", where=Cond("age", "gt", 20), order=[Order("id")])).rows
    assert rows == [
        {"id": 1, "name": "Alice", "age": 30},
        {"id": 4, "name": "Dave", "age": 45},
        {"id": 5, "name": "Ärger", "age": 25},
    ]


# -- writes -----------------------------------------------------------------------------


def test_insert_one_applies_defaults(db: Adapter) -> None:
    result = db.execute(Insert("people", {"id": 6, "name": "Eve"}))
    assert (result.rows, result.rowcount) == ([], 1)
    row = db.execute(Select("people", ["status", "email"], where=Cond("id", "eq", 6))).rows
    assert row == [{"status": "new", "email": None}]


def test_insert_many_with_returning(db: Adapter) -> None:
    rows = [{"id": i, "name": f"n{i}", "age": i} for i in (10, 11, 12)]
    result = db.execute(Insert("people", rows, returning=["id", "status"]))
    assert result.rows == [{"id": i, "status": "new"} for i in (10, 11, 12)]
    assert result.rowcount == 3
    assert ids(db, Cond("id", "gte", 10)) == [10, 11, 12]


def test_insert_returning_all_columns(db: Adapter) -> None:
    result = db.execute(Insert("people", {"id": 7, "name": "Fay", "active": True}, returning=ALL))
    assert result.rows == [
        {
            "id": 7,
            "name": "Fay",
            "email": None,
            "age": None,
            "active": True,
            "team_id": None,
            "status": "new",
        }
    ]


def test_unique_violation_is_mapped_with_sqlstate(db: Adapter) -> None:
    with pytest.raises(UniqueViolation) as caught:
        db.execute(Insert("people", {"id": 1, "name": "again"}))
    assert caught.value.code == "23505"
    assert caught.value.message
    with pytest.raises(UniqueViolation):
        db.execute(Insert("people", {"id": 99, "name": "x", "email": "bob@x"}))


def test_not_null_and_foreign_key_violations(db: Adapter) -> None:
    with pytest.raises(NotNullViolation) as not_null:
        db.execute(Insert("people", {"id": 20, "email": "z@x"}))
    assert not_null.value.code == "23502"
    with pytest.raises(ForeignKeyViolation) as fk:
        db.execute(Insert("people", {"id": 21, "name": "x", "team_id": 99}))
    assert fk.value.code == "23503"


def test_upsert_merge_on_primary_key(db: Adapter) -> None:
    rows = [
        {"id": 1, "name": "Alicia", "email": "alice@x"},
        {"id": 6, "name": "Finn", "email": "finn@x"},
    ]
    result = db.execute(Insert("people", rows, resolution="merge", returning=["id", "name"]))
    assert sorted(result.rows, key=lambda r: r["id"]) == [
        {"id": 1, "name": "Alicia"},
        {"id": 6, "name": "Finn"},
    ]
    plain = db.execute(Insert("people", {"id": 6, "name": "Finnegan"}, resolution="merge"))
    assert plain.rowcount == 1
    names = db.execute(
        Select("people", ["name"], where=Cond("id", "in", [1, 6]), order=[Order("id")])
    )
    assert [r["name"] for r in names.rows] == ["Alicia", "Finnegan"]


def test_upsert_ignore_on_primary_key(db: Adapter) -> None:
    rows = [{"id": 1, "name": "Zed", "email": "zed@x"}, {"id": 7, "name": "Gus", "email": "gus@x"}]
    result = db.execute(Insert("people", rows, resolution="ignore", returning=["id", "name"]))
    assert result.rows == [{"id": 7, "name": "Gus"}]
    assert db.execute(Select("people", ["name"], where=Cond("id", "eq", 1))).rows == [
        {"name": "Alice"}
    ]


def test_upsert_merge_on_unique_column(db: Adapter) -> None:
    row = {"id": 2, "email": "bob@x", "name": "Bobby", "age": 18}
    result = db.execute(
        Insert("people", row, on_conflict=["email"], resolution="merge", returning=["id", "name"])
    )
    assert result.rows == [{"id": 2, "name": "Bobby"}]
    assert ids(db, Cond("email", "eq", "bob@x")) == [2]


def test_upsert_ignore_on_unique_column(db: Adapter) -> None:
    row = {"id": 60, "email": "bob@x", "name": "X"}
    result = db.execute(
        Insert("people", row, on_conflict=["email"], resolution="ignore", returning=ALL)
    )
    assert result.rows == []
    assert ids(db) == [1, 2, 3, 4, 5]


def test_upsert_ignore_still_raises_other_errors(db: Adapter) -> None:
    with pytest.raises(NotNullViolation):
        db.execute(Insert("people", {"id": 70, "name": None}, resolution="ignore"))
    assert ids(db, Cond("id", "eq", 70)) == []


def test_upsert_conflict_target_must_be_unique(db: Adapter) -> None:
    with pytest.raises(QueryError) as caught:
        db.execute(
            Insert(
                "people", {"id": 1, "name": "x", "age": 1}, on_conflict=["age"], resolution="merge"
            )
        )
    assert caught.value.code == "42P10"


def test_update_by_filter_with_returning(db: Adapter) -> None:
    result = db.execute(
        Update("people", {"status": "minor"}, Cond("age", "lt", 18), returning=["id", "status"])
    )
    assert (result.rows, result.rowcount) == ([{"id": 2, "status": "minor"}], 1)
    many = db.execute(
        Update("people", {"age": 50}, Cond("active", "is", True), returning=["id", "age"])
    )
    assert sorted(many.rows, key=lambda r: r["id"]) == [{"id": 1, "age": 50}, {"id": 4, "age": 50}]


def test_update_of_the_primary_key_returns_the_moved_row(db: Adapter) -> None:
    result = db.execute(Update("people", {"id": 20}, Cond("id", "eq", 5), returning=ALL))
    assert [(r["id"], r["name"]) for r in result.rows] == [(20, "Ärger")]


def test_update_counts_matched_rows(db: Adapter) -> None:
    assert db.execute(Update("people", {"status": "x"}, Cond("team_id", "eq", 1))).rowcount == 2
    assert db.execute(Update("people", {"status": "x"}, Cond("team_id", "eq", 1))).rowcount == 2
    nothing = db.execute(Update("people", {"status": "y"}, Cond("id", "eq", 99), returning=ALL))
    assert (nothing.rows, nothing.rowcount) == ([], 0)
    assert db.execute(Update("people", {}, Cond("id", "eq", 1))).rowcount == 0


def test_delete_by_filter_with_returning(db: Adapter) -> None:
    result = db.execute(Delete("people", Cond("id", "in", [1, 2]), returning=["id", "name"]))
    assert sorted(result.rows, key=lambda r: r["id"]) == [
        {"id": 1, "name": "Alice"},
        {"id": 2, "name": "bob"},
    ]
    assert db.execute(Delete("people", Cond("age", "gt", 40))).rowcount == 1
    assert ids(db) == [3, 5]


# -- transactions -----------------------------------------------------------------------


def test_rollback_on_exception_leaves_nothing(db: Adapter) -> None:
    with pytest.raises(RuntimeError), db.transaction() as tx:
        db.execute(Insert("people", {"id": 30, "name": "temp"}), tx=tx)
        db.execute(Update("people", {"name": "changed"}, Cond("id", "eq", 1)), tx=tx)
        assert ids(db, Cond("id", "eq", 30)) == []  # another connection sees nothing yet
        raise RuntimeError("boom")
    assert ids(db, Cond("id", "eq", 30)) == []
    assert (
        db.execute(Select("people", ["name"], where=Cond("id", "eq", 1))).rows[0]["name"] == "Alice"
    )


def test_commit_on_success_and_reads_see_own_writes(db: Adapter) -> None:
    with db.transaction() as tx:
        db.execute(Insert("people", {"id": 31, "name": "kept"}), tx=tx)
        seen = db.execute(Select("people", ["name"], where=Cond("id", "eq", 31)), tx=tx)
        assert seen.rows == [{"name": "kept"}]
    assert ids(db, Cond("id", "eq", 31)) == [31]
    with pytest.raises(QueryError):
        db.execute(Select("people"), tx=tx)


def test_a_database_error_rolls_the_transaction_back(db: Adapter) -> None:
    with pytest.raises(UniqueViolation), db.transaction() as tx:
        db.execute(Insert("people", {"id": 32, "name": "first"}), tx=tx)
        db.execute(Insert("people", {"id": 32, "name": "second"}), tx=tx)
    assert ids(db, Cond("id", "eq", 32)) == []


# -- identifiers ------------------------------------------------------------------------

UNKNOWN = [
    (Select("nope"), "nope", "PGRST205"),
    (Select("people", ["nope"]), "nope", "42703"),
    (Select("people", where=Or([Cond("id", "eq", 1), Cond("ghost", "eq", 1)])), "ghost", "42703"),
    (Select("people", order=[Order("ghost")]), "ghost", "42703"),
    (Insert("people", {"id": 1, "ghost": 1}), "ghost", "42703"),
    (Insert("people", {"id": 1}, on_conflict=["ghost"], resolution="merge"), "ghost", "42703"),
    (Update("people", {"ghost": 1}), "ghost", "42703"),
    (Delete("people", returning=["ghost"]), "ghost", "42703"),
    (Delete("ghosts"), "ghosts", "PGRST205"),
]


@pytest.mark.parametrize(("query", "name", "code"), UNKNOWN)
def test_unknown_identifier_is_rejected(db: Adapter, query: Any, name: str, code: str) -> None:
    with pytest.raises(UnknownIdentifier) as caught:
        db.execute(query)
    assert (caught.value.identifier, caught.value.code) == (name, code)
    assert name in str(caught.value)


def test_unknown_identifier_is_rejected_before_any_sql(store: Adapter) -> None:
    """A closed store still answers UnknownIdentifier: the database is never asked."""
    twin = open_adapter("twin", {"engine": store.engine, **_location(store)})
    twin.close()
    with pytest.raises(UnknownIdentifier):
        twin.execute(Select("people", where=Cond("no such column", "eq", "x")))
    with pytest.raises(DatastoreUnavailable):
        twin.execute(Select("people"))


def _location(store: Adapter) -> dict[str, Any]:
    settings = store.settings
    return {"path": settings.path} if store.engine == "sqlite" else {"dsn": settings.dsn}


def test_refresh_schema_sees_new_tables(store: Adapter) -> None:
    store.raw("CREATE TABLE later (id INTEGER PRIMARY KEY)")
    try:
        with pytest.raises(UnknownIdentifier):
            store.execute(Select("later"))
        store.refresh_schema()
        assert store.execute(Select("later")).rows == []
    finally:
        store.raw("DROP TABLE later")
        store.refresh_schema()


# -- introspection ----------------------------------------------------------------------


def test_introspection_tables_and_views(store: Adapter) -> None:
    tables = store.introspect().tables
    assert {"teams", "people", "adults", "kinds"} <= set(tables)
    assert (tables["people"].kind, tables["adults"].kind) == ("table", "view")
    assert [c.name for c in tables["adults"].columns] == ["id", "name", "age"]


def test_introspection_columns(store: Adapter) -> None:
    people = store.introspect().table("people")
    assert [c.name for c in people.columns] == [
        "id",
        "name",
        "email",
        "age",
        "active",
        "team_id",
        "status",
    ]
    col = {c.name: c for c in people.columns}
    assert col["id"].primary_key and not col["name"].primary_key
    assert (col["name"].nullable, col["email"].nullable, col["id"].nullable) == (False, True, False)
    assert "new" in (col["status"].default or "")
    assert col["age"].default is None
    kinds = [col[n].kind for n in ("id", "name", "age", "active")]
    assert kinds == [Kind.INTEGER, Kind.TEXT, Kind.INTEGER, Kind.BOOLEAN]


def test_introspection_keys_and_indexes(store: Adapter) -> None:
    people = store.introspect().table("people")
    assert people.primary_key == ("id",)
    [fk] = people.foreign_keys
    assert (fk.name, fk.columns, fk.ref_table, fk.ref_columns) == (
        "people_team_fk",
        ("team_id",),
        "teams",
        ("id",),
    )
    by_columns = {i.columns: i for i in people.indexes}
    assert by_columns[("age",)].name == "people_age_idx"
    assert not by_columns[("age",)].unique
    assert by_columns[("email",)].unique
    assert people.is_unique(("email",)) and not people.is_unique(("age",))


def test_introspection_kinds(store: Adapter) -> None:
    kinds = {c.name: c.kind for c in store.introspect().table("kinds").columns}
    assert kinds == {
        "id": Kind.INTEGER,
        "doc": Kind.JSON,
        "at": Kind.TIMESTAMPTZ,
        "wall": Kind.TIMESTAMP,
        "day": Kind.DATE,
        "price": Kind.DECIMAL,
        "uid": Kind.UUID,
        "note": Kind.TEXT,
        "flag": Kind.BOOLEAN,
        "ratio": Kind.FLOAT,
        "big": Kind.INTEGER,
        "bin": Kind.BYTES,
    }


# -- types ------------------------------------------------------------------------------

UID = uuid.UUID("a8098c1a-f86e-11da-bd1a-00112444be1e")
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))
TYPED = {
    "id": 1,
    "doc": {"a": [1, 2.5, {"b": None}], "ü": "ñ 🎉", "t": True},
    "at": dt.datetime(2024, 1, 1, 10, 0, 0, 123456, tzinfo=PLUS_TWO),
    "wall": dt.datetime(2024, 1, 1, 10, 30),
    "day": dt.date(2024, 2, 29),
    "price": Decimal("12.34"),
    "uid": UID,
    "note": "héllo wörld 🎉 ✓ 中文 'quoted' \"double\" back\\slash",
    "flag": True,
    "ratio": 1.5,
    "big": 2**53 + 1,
    "bin": b"\x00\xffab",
}
EXPECTED = {
    **TYPED,
    "at": "2024-01-01T08:00:00.123456+00:00",
    "wall": "2024-01-01T10:30:00",
    "day": "2024-02-29",
    "price": "12.34",
    "uid": str(UID),
    "bin": "\\x00ff6162",
}


def test_types_round_trip(db: Adapter) -> None:
    inserted = db.execute(Insert("kinds", TYPED, returning=ALL)).rows
    selected = db.execute(Select("kinds", where=Cond("id", "eq", 1))).rows
    assert inserted == selected == [EXPECTED]


def test_nulls_round_trip(db: Adapter) -> None:
    row = {name: None for name in TYPED} | {"id": 2}
    db.execute(Insert("kinds", row))
    assert db.execute(Select("kinds", where=Cond("id", "eq", 2))).rows == [row]


def test_text_inputs_are_normalised_like_postgres(db: Adapter) -> None:
    row = {
        "id": 3,
        "at": "2024-01-01T10:00:00Z",
        "uid": str(UID).upper(),
        "price": "0.10",
        "day": "2024-03-01",
        "flag": "false",
        "doc": "just a string",
    }
    got = db.execute(Insert("kinds", row, returning=list(row))).rows[0]
    assert got["at"] == "2024-01-01T10:00:00+00:00"
    assert (got["uid"], got["day"], got["flag"], got["doc"]) == (
        str(UID),
        "2024-03-01",
        False,
        "just a string",
    )
    assert Decimal(got["price"]) == Decimal("0.10")


def test_filters_compare_typed_values(db: Adapter) -> None:
    db.execute(Insert("kinds", TYPED))
    for column, value in [
        ("at", "2024-01-01T08:00:00.123456Z"),
        ("at", TYPED["at"]),
        ("uid", str(UID).upper()),
        ("day", "2024-02-29"),
        ("flag", "true"),
        ("price", Decimal("12.34")),
    ]:
        rows = db.execute(Select("kinds", ["id"], where=Cond(column, "eq", value))).rows
        assert rows == [{"id": 1}], (column, value)


BAD_TEXT = [
    ("at", "not a time", {"22007"}),
    ("day", "2024-02-30", {"22007", "22008"}),  # PostgreSQL: 22008, out of range
    ("uid", "nope", {"22P02"}),
]


@pytest.mark.parametrize(("column", "value", "codes"), BAD_TEXT)
def test_bad_typed_text_is_refused(db: Adapter, column: str, value: str, codes: set[str]) -> None:
    with pytest.raises(QueryError) as caught:
        db.execute(Insert("kinds", {"id": 4, column: value}))
    assert caught.value.code in codes


def test_arrays_round_trip_on_postgres_only(db: Adapter) -> None:
    if db.engine != "postgres":
        with pytest.raises(UnsupportedFeature) as caught:
            db.execute(Insert("kinds", {"id": 5, "note": ["a", "b"]}))
        assert db.engine in str(caught.value) and "array" in str(caught.value)
        return
    db.execute(Delete("tags"))
    row = {"id": 1, "labels": ["a", "b,c", 'q"x', "ü"], "scores": [3, 1, 2]}
    assert db.execute(Insert("tags", row, returning=ALL)).rows == [row]
    assert db.execute(Select("tags", where=Cond("scores", "eq", [3, 1, 2]))).rows == [row]


def test_objects_are_refused_outside_json_columns(db: Adapter) -> None:
    with pytest.raises(QueryError) as caught:
        db.execute(Insert("kinds", {"id": 6, "note": {"a": 1}}))
    assert caught.value.code == "22P02"


# -- operations -------------------------------------------------------------------------


def test_health(store: Adapter) -> None:
    ok, latency_ms, detail = store.health()
    assert ok and latency_ms >= 0 and detail


def test_raw(store: Adapter) -> None:
    assert store.raw("SELECT 1 AS one").rows == [{"one": 1}]


@pytest.mark.parametrize("engine_name", ["postgres", "mysql", "sqlite"])
def test_dead_store_is_unavailable(engine_name: str, tmp_path: Path) -> None:
    port = free_port()
    settings = {
        "postgres": {"dsn": f"postgresql://postgres@127.0.0.1:{port}/x", "connect_timeout_s": 2},
        "mysql": {"dsn": f"mysql://root@127.0.0.1:{port}/x", "connect_timeout_s": 2},
        "sqlite": {"path": str(tmp_path / "a-file" / "store.db")},
    }[engine_name]
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(DatastoreUnavailable) as caught:
        open_adapter("dead", {"engine": engine_name, **settings})
    assert caught.value.code.startswith("08")
    assert "dead" in str(caught.value)


def test_concurrent_writers_all_land(db: Adapter) -> None:
    """More threads than pooled connections: each write waits its turn, none is lost."""

    def write(worker: int) -> None:
        for i in range(5):
            db.execute(Insert("people", {"id": 1000 + worker * 10 + i, "name": f"w{worker}"}))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(8)))
    assert db.execute(Select("people", where=Cond("id", "gte", 1000), count=True)).count == 40
