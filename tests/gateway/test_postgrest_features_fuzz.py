"""Property tests for the newer grammar: JSON paths, operators, modifiers and aggregates.

- over HTTP against a real PostgreSQL store (where all of them run), whatever the query
  string, `/rest/v1` answers 2xx or 4xx, never 5xx;
- in the compiler, on all three dialects, arbitrary JSON keys, values and configurations
  never change the SQL text: they are bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.datastore import dialect as dialects
from components.datastore.compiler import Compiler
from components.datastore.query import And, Column, Cond, JsonPath, Order, Select
from components.datastore.schema import Column as Info
from components.datastore.schema import Kind, Schema, Table
from mobo.exceptions import QueryError
from mobo.kernel.config import load_config
from tests.gateway.rest_support import PG_GRANTS, Board, make_board, prepare_postgres, store_with

DDL = [
    "CREATE TABLE docs (id INTEGER PRIMARY KEY, name TEXT, doc JSONB, tags TEXT[], "
    "span INT4RANGE, body TSVECTOR, amount NUMERIC)",
    "INSERT INTO docs VALUES (1, 'a', '{\"k\":[1,2],\"s\":\"x\"}', '{a}', '[1,5)', "
    "to_tsvector('fat cats'), 1.5), (2, NULL, NULL, NULL, NULL, NULL, NULL)",
]
WORDS = [
    "id", "name", "doc", "tags", "span", "body", "amount", "nope", "*", "->", "->>", "0", "-1",
    "k", '"k"', "eq.", "neq.", "gt.", "like.", "match.", "imatch.", "isdistinct.", "fts.",
    "plfts(english).", "phfts(simple).", "wfts(nope).", "cs.", "cd.", "ov.", "sl.", "sr.",
    "nxr.", "nxl.", "adj.", "eq(any).", "like(all).", "gt(any).", "not.", "in.(", "is.null",
    "{", "}", "[", "]", "(", ")", ",", ".", ":", "::", "int", "text", "count()", ".sum()",
    ".avg()", ".max()", "'", '"', "\\", "%", "&", "|", "!", "x;drop table docs",
]  # fmt: skip
TOKENS = st.lists(st.sampled_from(WORDS) | st.text(max_size=3), max_size=7).map("".join)
KEYS = st.sampled_from(["select", "order", "or", "and", "doc->k", "doc->>s", "tags", "span"])
PAIRS = st.lists(st.tuples(KEYS | TOKENS, TOKENS), max_size=4)


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    tmp = tmp_path_factory.mktemp("pgfuzz")
    with store_with("postgres", tmp, DDL) as (store, adapter):
        prepare_postgres(adapter, list(PG_GRANTS))
        make_board(tmp / "home", store)
        b = Board(load_config(tmp / "home", environ={"MOBO_GATEWAY_AGGREGATES": "true"}))
        yield b
        b.close()


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pairs=PAIRS, prefer=st.sampled_from(["", "count=exact", "timezone=Asia/Tokyo"]))
def test_no_query_string_makes_a_5xx(board: Board, pairs, prefer) -> None:  # type: ignore[no-untyped-def]
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    headers = {"Prefer": prefer} if prefer else {}
    got = board.get("docs?" + query, headers=headers)
    assert got.status_code < 500, (query, got.text)
    assert board.get("docs?select=id&order=id").json == [{"id": 1}, {"id": 2}]


# -- SQL structure ----------------------------------------------------------------------------

TABLE = Table(
    "docs",
    (
        Info("id", "integer", Kind.INTEGER, primary_key=True),
        Info("name", "text", Kind.TEXT),
        Info("doc", "jsonb", Kind.JSON),
    ),
    primary_key=("id",),
)
SCHEMA = Schema({"docs": TABLE})
DIALECTS = [dialects.postgres(), dialects.sqlite(), dialects.mysql()]
keys = st.lists(st.text(max_size=12) | st.integers(0, 2**31 - 1), min_size=1, max_size=3)
values = st.text(max_size=20)


def _shape(dialect: dialects.Dialect, keys: list[str | int], value: str, text: bool) -> str:
    path = JsonPath(tuple(keys), text)
    query = Select(
        "docs",
        [Column("id"), Column("doc", json=path), Column("*", aggregate="count")],
        where=Cond("doc", "eq" if text else "neq", value, json=path),
        order=(Order("doc", json=path),) if text else (),
    )
    return Compiler(dialect, SCHEMA).select(query).sql


def _stand_in(keys: list[str | int]) -> list[str | int]:
    return [0 if isinstance(k, int) else "k" for k in keys]


@settings(max_examples=300, deadline=None)
@given(keys=keys, value=values, text=st.booleans())
def test_json_keys_and_values_never_change_the_sql(keys, value, text) -> None:  # type: ignore[no-untyped-def]
    for dialect in DIALECTS:
        try:
            sql = _shape(dialect, keys, value, text)
        except QueryError:  # a key SQLite/MySQL paths cannot spell: refused, not spliced
            assert dialect.engine != "postgres"
            continue
        assert sql == _shape(dialect, _stand_in(keys), "v", text)


@settings(max_examples=200, deadline=None)
@given(value=values, config=st.text(max_size=10), items=st.lists(values, max_size=3))
def test_operator_values_never_change_the_sql(value, config, items) -> None:  # type: ignore[no-untyped-def]
    compiler = Compiler(dialects.postgres(), SCHEMA)

    def sql(value: str, config: str, items: list[str]) -> str:
        where = [
            Cond("name", "wfts", value, config=config),
            Cond("name", "match", value),
            Cond("name", "isdistinct", value),
            Cond("doc", "cs", value),
            Cond("name", "like", items, modifier="any"),
        ]
        return compiler.select(Select("docs", ["id"], where=And(where))).sql

    stand_in = ["v"] * len(items)
    assert sql(value, config, items) == sql("v", "english", stand_in)
