"""The adapter contract for the newer model nodes: JSON paths, (any)/(all), regular
expressions, isdistinct, full-text search, array/range operators and aggregates.

Run on real SQLite, PostgreSQL and MariaDB. What an engine cannot do faithfully is
refused with UnsupportedFeature naming the engine; the tests say which.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from components.datastore import (
    Adapter,
    Column,
    Cond,
    Insert,
    JsonPath,
    Order,
    Select,
    Update,
)
from mobo.exceptions import QueryError, UnsupportedFeature

from .conftest import open_store

DDL = {
    "postgres": [
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, name TEXT, doc JSONB, team TEXT, "
        "amount NUMERIC(10,2), tags TEXT[], span INT4RANGE, body TSVECTOR)",
    ],
    "sqlite": [
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, name TEXT, doc JSON, team TEXT, "
        "amount NUMERIC(10,2))",
    ],
    "mysql": [
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, name VARCHAR(50), doc JSON, "
        "team VARCHAR(20), amount DECIMAL(10,2))",
    ],
}
ROWS = [
    {
        "id": 1,
        "name": "Alice",
        "doc": {"age": 30, "blood": "A-", "tags": ["x", "y"], "pet": {"name": "Rex"}},
        "team": "red",
        "amount": "10.50",
    },
    {
        "id": 2,
        "name": "bob",
        "doc": {"age": 17, "blood": "B+", "tags": ["y"], "pet": None},
        "team": "blue",
        "amount": "4.25",
    },
    {"id": 3, "name": "Carol", "doc": {"age": 9, "tags": []}, "team": "red", "amount": None},
    {"id": 4, "name": "Dave", "doc": None, "team": None, "amount": "1.00"},
]
PG_EXTRA = {
    1: {"tags": ["a", "b"], "span": "[1,10)", "body": "fat cats ate rats"},
    2: {"tags": ["b", "c"], "span": "[20,30)", "body": "the quick brown fox"},
    3: {"tags": [], "span": "[10,20)", "body": None},
    4: {"tags": None, "span": None, "body": "a fat fox"},
}


@pytest.fixture(scope="module")
def db(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapter]:
    with open_store(engine, tmp_path_factory.mktemp(engine), DDL[engine]) as adapter:
        rows = [dict(r) for r in ROWS]
        if engine == "postgres":
            for row in rows:
                row.update({k: v for k, v in PG_EXTRA[row["id"]].items() if k != "body"})
        adapter.execute(Insert("docs", rows))
        if engine == "postgres":
            for key, extra in PG_EXTRA.items():
                adapter.raw(
                    "UPDATE docs SET body = to_tsvector('english', %s) WHERE id = %s",
                    (extra["body"], key),
                )
        yield adapter


def ids(db: Adapter, where: Any) -> list[int]:
    return sorted(r["id"] for r in db.execute(Select("docs", ["id"], where=where)).rows)


def path(*keys: str | int, text: bool = False) -> JsonPath:
    return JsonPath(keys, text)


# -- JSON paths ---------------------------------------------------------------------------


def test_select_json_paths(db: Adapter) -> None:
    columns = [
        Column("id"),
        Column("doc", json=path("blood", text=True)),
        Column("doc", json=path("tags")),
        Column("doc", alias="pet", json=path("pet", "name", text=True)),
        Column("doc", alias="first", json=path("tags", 0, text=True)),
        Column("doc", alias="age", json=path("age")),
    ]
    rows = db.execute(Select("docs", columns, order=[Order("id")])).rows
    assert rows[0] == {
        "id": 1,
        "blood": "A-",
        "tags": ["x", "y"],
        "pet": "Rex",
        "first": "x",
        "age": 30,
    }
    assert rows[1]["pet"] is None and rows[1]["blood"] == "B+"  # a JSON null is NULL as text
    assert rows[2] == {"id": 3, "blood": None, "tags": [], "pet": None, "first": None, "age": 9}
    assert rows[3]["tags"] is None


def test_json_text_as_postgres_writes_it(db: Adapter) -> None:
    """`->>` of a number or a boolean is its JSON text, as PostgreSQL's `->>`."""
    columns = [Column("id"), Column("doc", json=path("age", text=True))]
    rows = db.execute(Select("docs", columns, where=Cond("id", "eq", 1))).rows
    assert rows == [{"id": 1, "age": "30"}]


JSON_FILTERS = [
    (Cond("doc", "eq", "A-", json=path("blood", text=True)), [1]),
    (Cond("doc", "neq", "A-", json=path("blood", text=True)), [2]),
    (Cond("doc", "like", "%+", json=path("blood", text=True)), [2]),
    (Cond("doc", "in", ["A-", "B+"], json=path("blood", text=True)), [1, 2]),
    (Cond("doc", "is", None, json=path("blood", text=True)), [3, 4]),
    (Cond("doc", "eq", "Rex", json=path("pet", "name", text=True)), [1]),
    (Cond("doc", "eq", "y", json=path("tags", 1, text=True)), [1]),
    (Cond("doc", "eq", "30", json=path("age")), [1]),
    (Cond("doc", "eq", '"A-"', json=path("blood")), [1]),
    (Cond("doc", "neq", "30", json=path("age")), [2, 3]),
    (Cond("doc", "in", ["9", "17"], json=path("age")), [2, 3]),
    (Cond("doc", "eq", '["y"]', json=path("tags")), [2]),
    (Cond("doc", "is", None, json=path("pet")), [3, 4]),
    (Cond("doc", "eq", "y", json=path("tags", 0, text=True), negate=True), [1]),
]


@pytest.mark.parametrize(("where", "expected"), JSON_FILTERS, ids=[str(i) for i in range(14)])
def test_json_path_filters(db: Adapter, where: Cond, expected: list[int]) -> None:
    assert ids(db, where) == expected


def test_json_values_order_only_on_postgres(db: Adapter) -> None:
    where = Cond("doc", "gt", "10", json=path("age"))
    order = [Order("doc", desc=True, json=path("age"))]
    if db.engine == "postgres":
        assert ids(db, where) == [1, 2]
        rows = db.execute(Select("docs", ["id"], order=order)).rows
        assert [r["id"] for r in rows] == [4, 1, 2, 3]  # nulls first when descending
        return
    with pytest.raises(UnsupportedFeature, match=db.engine):
        db.execute(Select("docs", ["id"], where=where))
    with pytest.raises(UnsupportedFeature, match=db.engine):
        db.execute(Select("docs", ["id"], order=order))


def test_order_by_json_text(db: Adapter) -> None:
    order = [Order("doc", nulls="last", json=path("blood", text=True)), Order("id")]
    rows = db.execute(Select("docs", ["id"], order=order)).rows
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    order = [Order("doc", desc=True, nulls="last", json=path("blood", text=True))]
    rows = db.execute(Select("docs", ["id"], order=order, limit=2)).rows
    assert [r["id"] for r in rows] == [2, 1]


def test_json_path_keys_are_bound_not_spliced(db: Adapter) -> None:
    """A key full of SQL is only a key that no document has."""
    evil = "x') OR 1=1; DROP TABLE docs; --"
    assert ids(db, Cond("doc", "eq", "1", json=path(evil, text=True))) == []
    rows = db.execute(Select("docs", [Column("doc", alias="v", json=path(evil, text=True))]))
    assert [r["v"] for r in rows.rows] == [None] * 4
    assert ids(db, None) == [1, 2, 3, 4]


def test_json_paths_in_returning(db: Adapter) -> None:
    returning = [Column("id"), Column("doc", json=path("blood", text=True))]
    query = Update("docs", {"name": "Alice"}, Cond("id", "eq", 1), returning=returning)
    assert db.execute(query).rows == [{"id": 1, "blood": "A-"}]


# -- (any)/(all), regular expressions, isdistinct ------------------------------------------

OPERATOR_FILTERS = [
    (Cond("name", "eq", ["bob", "Dave"], modifier="any"), [2, 4]),
    (Cond("name", "like", ["A%", "C%"], modifier="any"), [1, 3]),
    (Cond("name", "ilike", ["%A%", "%L%"], modifier="all"), [1, 3]),
    (Cond("id", "gt", [1, 2], modifier="all"), [3, 4]),
    (Cond("id", "lt", [2, 3], modifier="any"), [1, 2]),
    (Cond("name", "eq", [], modifier="any"), []),
    (Cond("name", "eq", [], modifier="all"), [1, 2, 3, 4]),
    (Cond("name", "eq", ["bob"], modifier="any", negate=True), [1, 3, 4]),
    (Cond("name", "match", "^[A-C]"), [1, 3]),
    (Cond("name", "imatch", "^[a-c]"), [1, 2, 3]),
    (Cond("name", "match", "o"), [2, 3]),
    (Cond("name", "imatch", ["^a", "^d"], modifier="any"), [1, 4]),
    (Cond("team", "isdistinct", "red"), [2, 4]),
    (Cond("team", "isdistinct", "red", negate=True), [1, 3]),
    (Cond("doc", "match", "^A", json=path("blood", text=True)), [1]),
]


@pytest.mark.parametrize(("where", "expected"), OPERATOR_FILTERS, ids=[str(i) for i in range(15)])
def test_operators(db: Adapter, where: Cond, expected: list[int]) -> None:
    assert ids(db, where) == expected


def test_bad_regular_expression_is_a_query_error(db: Adapter) -> None:
    with pytest.raises(QueryError):
        ids(db, Cond("name", "match", "(unclosed"))


def test_modifiers_need_a_list_and_a_quantifiable_operator() -> None:
    with pytest.raises(QueryError):
        Cond("name", "eq", "bob", modifier="any")
    with pytest.raises(QueryError):
        Cond("name", "in", ["a"], modifier="any")
    with pytest.raises(QueryError):
        Cond("name", "eq", "x", config="english")


# -- PostgreSQL's operators ------------------------------------------------------------------

PG_FILTERS = [
    (Cond("body", "fts", "cat"), [1]),
    (Cond("body", "fts", "fat & fox", config="english"), [4]),
    (Cond("body", "plfts", "fat rats", config="english"), [1]),
    (Cond("body", "phfts", "quick brown", config="english"), [2]),
    (Cond("body", "wfts", "fat -cats", config="english"), [4]),
    (Cond("body", "fts", "fox", negate=True), [1]),
    (Cond("name", "fts", "alice"), [1]),
    (Cond("tags", "cs", "{b}"), [1, 2]),
    (Cond("tags", "cd", "{a,b,z}"), [1, 3]),
    (Cond("tags", "ov", "{c,z}"), [2]),
    (Cond("span", "cs", "[5,6)"), [1]),
    (Cond("span", "ov", "[8,12)"), [1, 3]),
    (Cond("span", "sl", "[15,40)"), [1]),
    (Cond("span", "sr", "[0,5)"), [2, 3]),
    (Cond("span", "nxr", "[0,20)"), [1, 3]),
    (Cond("span", "nxl", "[10,40)"), [2, 3]),
    (Cond("span", "adj", "[30,40)"), [2]),
    (Cond("doc", "cs", '{"tags":["y"]}'), [1, 2]),
    (Cond("doc", "cd", '{"age":9,"tags":[],"x":1}'), [3]),
    (Cond("doc", "cs", '["x"]', json=path("tags")), [1]),
]


@pytest.mark.parametrize(("where", "expected"), PG_FILTERS, ids=[str(i) for i in range(20)])
def test_postgres_operators(db: Adapter, where: Cond, expected: list[int]) -> None:
    if db.engine != "postgres":
        pytest.skip("these columns (tsvector, arrays, ranges) exist on PostgreSQL only")
    assert ids(db, where) == expected


def test_postgres_operators_are_refused_elsewhere_by_name(db: Adapter) -> None:
    if db.engine == "postgres":
        pytest.skip("PostgreSQL runs them")
    for cond in (
        Cond("name", "fts", "alice"),
        Cond("name", "wfts", "alice", config="english"),
        Cond("name", "ov", "{a}"),
        Cond("team", "sl", "[1,2)"),
        Cond("name", "cs", "{a}"),  # cs on text: only JSON values have containment here
    ):
        with pytest.raises(UnsupportedFeature, match=db.engine):
            ids(db, cond)


def test_json_containment(db: Adapter) -> None:
    """cs/cd on a JSON value: PostgreSQL's @>/<@, MySQL's JSON_CONTAINS; not on SQLite."""
    conds = [
        (Cond("doc", "cs", '{"tags":["y"]}'), [1, 2]),
        (Cond("doc", "cs", '["x"]', json=path("tags")), [1]),
        (Cond("doc", "cd", '["x","y","z"]', json=path("tags")), [1, 2, 3]),
    ]
    for cond, expected in conds:
        if db.engine == "sqlite":
            with pytest.raises(UnsupportedFeature, match="sqlite"):
                ids(db, cond)
        else:
            assert ids(db, cond) == expected


# -- aggregates ------------------------------------------------------------------------------


def _agg(db: Adapter, columns: list[Column], **kwargs: Any) -> list[dict[str, Any]]:
    return db.execute(Select("docs", columns, **kwargs)).rows


def test_count_sum_avg_max_min_without_groups(db: Adapter) -> None:
    columns = [
        Column("*", aggregate="count"),
        Column("amount", aggregate="sum"),
        Column("id", aggregate="max"),
        Column("id", alias="lowest", aggregate="min"),
        Column("id", alias="mean", aggregate="avg"),
    ]
    (row,) = _agg(db, columns)
    assert row["count"] == 4 and row["max"] == 4 and row["lowest"] == 1
    assert Decimal(str(row["sum"])) == Decimal("15.75")
    assert Decimal(str(row["mean"])) == Decimal("2.5")


def test_group_by_the_other_columns(db: Adapter) -> None:
    columns = [Column("team"), Column("*", aggregate="count"), Column("id", aggregate="sum")]
    rows = _agg(db, columns, order=[Order("team", nulls="first")])
    assert [(r["team"], r["count"], int(r["sum"])) for r in rows] == [
        (None, 1, 4),
        ("blue", 1, 2),
        ("red", 2, 4),
    ]


def test_aggregate_casts_and_filters(db: Adapter) -> None:
    columns = [
        Column("team"),
        Column("id", alias="mean", aggregate="avg", aggregate_cast="integer"),
        Column("amount", cast="text", aggregate="max"),
    ]
    where = Cond("team", "is", None, negate=True)
    rows = _agg(db, columns, where=where, order=[Order("team")])
    assert rows[0] == {"team": "blue", "mean": 2, "max": "4.25"}
    assert rows[1]["team"] == "red" and rows[1]["mean"] == 2


def test_group_by_a_json_path_counts_groups(db: Adapter) -> None:
    columns = [Column("doc", alias="blood", json=path("blood", text=True))]
    columns.append(Column("*", aggregate="count"))
    result = db.execute(Select("docs", columns, count=True, limit=1))
    assert result.count == 3  # A-, B+ and null: three groups
    assert len(result.rows) == 1


def test_count_of_an_aggregate_without_groups_is_one_row(db: Adapter) -> None:
    result = db.execute(Select("docs", [Column("*", aggregate="count")], count=True))
    assert result.count == 1 and result.rows == [{"count": 4}]


def test_aggregate_names_are_checked(db: Adapter) -> None:
    with pytest.raises(QueryError):
        Column("id", aggregate="median")
    with pytest.raises(QueryError):
        Column("*", aggregate="sum")
    with pytest.raises(QueryError, match="nope"):
        db.execute(Select("docs", [Column("nope", aggregate="sum")]))
