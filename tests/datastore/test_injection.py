"""Arbitrary strings cannot change the SQL a query compiles to.

- As values (and select aliases), any string leaves the SQL text byte-for-byte the same:
  only the parameters differ.
- As identifiers, any name the schema does not hold is refused with UnknownIdentifier;
  casts outside the dialect's list are refused with UnsupportedFeature.
- Names the schema does hold, however odd (`we"ird`, `DROP TABLE x;--`, `100%`), are
  quoted so that they round-trip on the real engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.datastore import (
    ALL,
    Adapter,
    And,
    Column,
    Cond,
    Delete,
    Insert,
    Not,
    Or,
    Order,
    Select,
    Update,
    dialect,
)
from components.datastore.compiler import Compiler, Statement
from components.datastore.schema import Column as Col
from components.datastore.schema import Index, Kind, Schema, Table
from mobo.exceptions import UnknownIdentifier, UnsupportedFeature

from .conftest import open_store

DIALECTS = {"postgres": dialect.postgres(), "sqlite": dialect.sqlite(), "mysql": dialect.mysql()}
TABLE = Table(
    "t",
    (
        Col("id", "integer", Kind.INTEGER, nullable=False, primary_key=True),
        Col("s", "text", Kind.TEXT),
        Col("n", "integer", Kind.INTEGER),
    ),
    primary_key=("id",),
    indexes=(Index("t_s_key", ("s",), unique=True),),
)
SCHEMA = {"postgres": Schema({"t": TABLE}, "public"), "sqlite": Schema({"t": TABLE})}
SCHEMA["mysql"] = SCHEMA["sqlite"]
OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike")
VALUES = st.one_of(
    st.text(), st.integers(), st.floats(allow_nan=False), st.none(), st.booleans(), st.binary()
)
FAST = settings(max_examples=60, deadline=None)


def value_queries(value: Any) -> list[Any]:
    """Every place a value can go, each in a query of fixed shape."""
    return [
        *(Select("t", where=Cond("s", op, value)) for op in OPS),
        Select("t", where=Cond("s", "in", [value, "x", value])),
        Select("t", [Column("s", alias=str(value))], where=Not(And([Cond("n", "eq", value)]))),
        Select("t", where=Or([Cond("s", "like", value, negate=True), Cond("id", "lt", value)])),
        Insert("t", [{"id": value, "s": value}, {"id": 2, "s": value}]),
        Insert("t", {"id": 1, "s": value}, resolution="merge", returning=ALL),
        Insert("t", {"id": 1, "s": value}, on_conflict=["s"], resolution="ignore"),
        Update("t", {"s": value, "n": value}, Cond("s", "ilike", value), returning=["s"]),
        Delete("t", Cond("s", "eq", value), returning=ALL),
    ]


def compile_query(compiler: Compiler, query: Any) -> list[Statement]:
    if isinstance(query, Select):
        return [compiler.select(query), compiler.count(query)]
    if isinstance(query, Insert):
        return list(compiler.insert(query))
    if isinstance(query, Update):
        return [compiler.update(query), compiler.keys("t", query.where)]
    return [compiler.delete(query)]


@FAST
@given(value=VALUES)
def test_values_never_change_the_sql_text(value: Any) -> None:
    for engine, dia in DIALECTS.items():
        compiler = Compiler(dia, SCHEMA[engine])
        for baseline, probe in zip(value_queries("x"), value_queries(value), strict=True):
            expected = compile_query(compiler, baseline)
            got = compile_query(compiler, probe)
            assert [s.sql for s in got] == [s.sql for s in expected], (engine, probe)
            assert [len(s.params) for s in got] == [len(s.params) for s in expected]


@FAST
@given(value=st.text())
def test_text_values_travel_as_parameters_verbatim(value: str) -> None:
    for engine, dia in DIALECTS.items():
        statement = Compiler(dia, SCHEMA[engine]).select(Select("t", where=Cond("s", "eq", value)))
        assert statement.params == (value,)


def identifier_queries(name: str) -> list[Any]:
    """Every place a column name can go."""
    return [
        Select("t", [name]),
        Select("t", where=And([Cond("id", "eq", 1), Or([Cond(name, "eq", 1)])])),
        Select("t", where=Not(Cond(name, "is", None))),
        Select("t", order=[Order(name)]),
        Insert("t", {"id": 1, name: 1}),
        Insert("t", {"id": 1}, on_conflict=[name], resolution="merge"),
        Insert("t", {"id": 1}, returning=[name]),
        Update("t", {name: 1}),
        Update("t", {"s": 1}, Cond(name, "like", "x")),
        Delete("t", returning=["id", name]),
    ]


@FAST  # `*` is no column name to the query model: all columns, or count(*) (PGRST100)
@given(name=st.text().filter(lambda n: n not in ("id", "s", "n", "*")))
def test_unknown_columns_are_rejected(name: str) -> None:
    for engine, dia in DIALECTS.items():
        compiler = Compiler(dia, SCHEMA[engine])
        for query in identifier_queries(name):
            with pytest.raises(UnknownIdentifier) as caught:
                compile_query(compiler, query)
            assert (caught.value.identifier, caught.value.code) == (name, "42703")


@FAST
@given(name=st.text().filter(lambda n: n != "t"))
def test_unknown_tables_are_rejected(name: str) -> None:
    queries = [Select(name), Insert(name, {"id": 1}), Update(name, {"id": 1}), Delete(name)]
    for engine, dia in DIALECTS.items():
        compiler = Compiler(dia, SCHEMA[engine])
        for query in queries:
            with pytest.raises(UnknownIdentifier) as caught:
                compile_query(compiler, query)
            assert (caught.value.identifier, caught.value.code) == (name, "PGRST205")


@FAST
@given(cast=st.text())
def test_casts_come_from_a_closed_list(cast: str) -> None:
    for engine, dia in DIALECTS.items():
        compiler = Compiler(dia, SCHEMA[engine])
        query = Select("t", [Column("n", cast=cast)])
        try:
            sql = compiler.select(query).sql
        except UnsupportedFeature:
            continue
        if not cast:  # an empty cast is no cast
            assert sql.startswith(f"SELECT {dia.quote_ident('n')} ")
            continue
        assert sql.startswith(f"SELECT CAST({dia.quote_ident('n')} AS {dia.cast_type(cast)}) ")
        assert dia.cast_type(cast) in dia.casts.values()


# -- odd names on the real engines ------------------------------------------------------

WEIRD = [
    'we"ird',
    "a b",
    "DROP TABLE x;--",
    "back`tick",
    "100%",
    "%s",
    "?",
    "$1",
    "'q'",
    "[br]",
    "information.cpe",
    "ü",
    "Robert'); DROP TABLE students;--",
]


def ddl_name(engine: str, name: str) -> str:
    """Quote a name for hand-written DDL (raw SQL has no placeholders to escape)."""
    quote = "`" if engine == "mysql" else '"'
    return quote + name.replace(quote, quote * 2) + quote


def weird_ddl(engine: str) -> list[str]:
    return [
        f"CREATE TABLE {ddl_name(engine, name)} (id INTEGER PRIMARY KEY, "
        f"{ddl_name(engine, name)} VARCHAR(200), {ddl_name(engine, name + '2')} INTEGER)"
        for name in WEIRD
    ] + ["CREATE TABLE plain (id INTEGER PRIMARY KEY, v TEXT)"]


@pytest.fixture(scope="module")
def odd(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapter]:
    with open_store(engine, tmp_path_factory.mktemp(engine), weird_ddl(engine)) as adapter:
        yield adapter


@pytest.mark.parametrize("name", WEIRD)
def test_odd_names_in_the_schema_round_trip(odd: Adapter, name: str) -> None:
    other = name + "2"
    odd.execute(Delete(name))
    inserted = odd.execute(Insert(name, {"id": 1, name: "v'1", other: 5}, returning=ALL))
    assert inserted.rows == [{"id": 1, name: "v'1", other: 5}]
    page = odd.execute(
        Select(
            name,
            [name, Column(other, alias="o")],
            where=Cond(name, "like", "v%"),
            order=[Order(other, nulls="first")],
            limit=1,
            count=True,
        )
    )
    assert (page.rows, page.count) == ([{name: "v'1", "o": 5}], 1)
    merged = odd.execute(Insert(name, {"id": 1, name: "v2"}, resolution="merge", returning=[name]))
    assert merged.rows == [{name: "v2"}]
    updated = odd.execute(Update(name, {other: 6}, Cond(name, "eq", "v2"), returning=[other]))
    assert updated.rows == [{other: 6}]
    assert odd.execute(Delete(name, Cond(other, "eq", 6), returning=["id"])).rows == [{"id": 1}]
    assert set(odd.introspect().tables) >= {*WEIRD, "plain"}  # nothing was dropped


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])))
def test_any_text_value_round_trips(odd: Adapter, value: str) -> None:
    with odd.transaction() as tx:
        odd.execute(Delete("plain"), tx=tx)
        odd.execute(Insert("plain", {"id": 1, "v": value}), tx=tx)
        found = odd.execute(Select("plain", where=Cond("v", "eq", value)), tx=tx).rows
        assert found == [{"id": 1, "v": value}]
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        assert odd.execute(Select("plain", ["id"], where=Cond("v", "like", escaped)), tx=tx).rows
        assert odd.execute(Select("plain", ["id"], where=Cond("v", "ilike", escaped)), tx=tx).rows


IDENTIFIER_CHARS = st.characters(
    min_codepoint=0x20, max_codepoint=0xFFFF, blacklist_categories=["Cs", "Cc", "Co", "Cn"]
)


def usable_name(name: str) -> bool:
    """Names every engine can hold (no edge spaces: MySQL; not SQLite's own prefix) and
    the query model can name."""
    usable = name == name.strip() and bool(name) and not name.lower().startswith("sqlite_")
    return usable and name != "*"  # `*` means all columns (as in PostgREST), never one


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(IDENTIFIER_CHARS, min_size=1, max_size=20).filter(usable_name))
def test_any_schema_name_round_trips(odd: Adapter, name: str) -> None:
    table = f"h {name}"
    odd.raw(f"CREATE TABLE {ddl_name(odd.engine, table)} ({ddl_name(odd.engine, name)} INTEGER)")
    try:
        odd.refresh_schema()
        odd.execute(Insert(table, {name: 7}))
        rows = odd.execute(Select(table, where=Cond(name, "in", [7]), order=[Order(name)])).rows
        assert rows == [{name: 7}]
        assert odd.execute(Update(table, {name: 8}, Cond(name, "eq", 7))).rowcount == 1
        assert odd.execute(Delete(table, Cond(name, "gte", 8))).rowcount == 1
    finally:
        odd.raw(f"DROP TABLE {ddl_name(odd.engine, table)}")
