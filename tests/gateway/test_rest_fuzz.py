"""Whatever arrives in the URL, headers or body, `/rest/v1` answers 2xx or 4xx, never 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.gateway.rest_support import Board, make_board, store_with

DDL = [
    "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, price NUMERIC, author_id INTEGER"
    " REFERENCES authors(id))",
    "INSERT INTO authors VALUES (1, 'a'), (2, 'b')",
    "INSERT INTO books VALUES (1, 'x', 1.5, 1), (2, 'y', NULL, 2), (3, 'z', 3, NULL)",
]
WORDS = ["id", "title", "price", "author_id", "authors", "books", "name", "nope", "*", "select",
         "order", "limit", "offset", "or", "and", "not", "eq", "in", "is", "like", "null",
         "inner", "columns", "on_conflict", "'", '"', "(", ")", ",", ".", ":", "!", "->",
         "%", "1", "-1", "x;drop table books"]  # fmt: skip
TOKENS = st.lists(st.sampled_from(WORDS) | st.text(max_size=4), max_size=6).map("".join)
PAIRS = st.lists(st.tuples(TOKENS, TOKENS), max_size=5)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Prefer": st.sampled_from(
            [
                "count=exact",
                "return=representation",
                "resolution=merge-duplicates",
                "missing=default",
                "handling=strict, nope",
                "max-affected=1",
            ]
        ),
        "Accept": st.sampled_from(
            ["text/csv", "application/vnd.pgrst.object+json", "image/png", "*/*"]
        ),
        "Range": TOKENS,
        "Content-Type": st.sampled_from(["application/json", "text/csv", "text/plain"]),
    },
)


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with store_with("sqlite", tmp, DDL) as (settings_, _):
        b = Board(make_board(tmp / "home", settings_))
        yield b
        b.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT"]),
    table=st.sampled_from(["books", "authors", "rpc/fn", "nope"]),
    pairs=PAIRS,
    headers=HEADERS,
    body=st.sampled_from(
        [
            None,
            "",
            "{}",
            "[]",
            '{"title": "t"}',
            '[{"id": 9}, {"x": 1}]',
            "{",
            '{"id": 1, "price": 1.25}',
            "a,b\n1,2\n",
        ]
    ),
)
def test_no_input_makes_a_5xx(board: Board, method, table, pairs, headers, body) -> None:  # type: ignore[no-untyped-def]
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    got = board.request(method, f"{table}?{query}", headers=headers, raw=body)
    assert got.status_code < 500, (method, table, query, headers, body, got.text)
    if got.status_code >= 400 and method != "HEAD":
        assert set(got.json) == {"code", "message", "details", "hint"}
    assert len(board.get("books").json) >= 1  # nothing wiped the table
