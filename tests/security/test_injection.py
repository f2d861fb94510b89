"""SQL in any part of the URL (and the headers that shape a query) is inert, on every engine.

Each payload goes out with the service key, so no permission check stops it before the
query is built. Whatever the gateway answers, it is never a 5xx and, when an error, it is
PostgREST's body; afterwards `secrets` still holds its one row, and a value that looks like
SQL is compared as a value.
"""

from __future__ import annotations

import urllib.parse

import pytest

from tests.e2e.boards import RestBoard
from tests.security.conftest import assert_pgrst_error

pytestmark = pytest.mark.integration

DROP = "drop table secrets"
QUOTE = "'"
ROW = {"id": 1, "value": "the launch codes"}

# raw (undecoded) strings; the tests percent-encode them
TABLES = [
    f"secrets;{DROP}--",
    "secrets where 1=1;--",
    "public.secrets",
    '"secrets"',
    "pg_catalog.pg_user",
    "information_schema.tables",
    "sqlite_master",
    "mysql.user",
    "auth.users",
    "auth_users",
    f"rpc/add_them;{DROP}--",
    "rpc/pg_sleep",
    "rpc/version",
    f"secrets/1;{DROP}",
]
PARAMS = [
    # select
    ("select", f"id;{DROP}"),
    ("select", "id,(select 1)"),
    ("select", f"value::text);{DROP}--"),
    ("select", "*,pg_sleep(1)"),
    ("select", "id:value from secrets;--"),
    ("select", '"id"" from secrets;--"'),
    ("select", f"value->>x;{DROP}"),
    ("select", "value::text from secrets union select version()::text"),
    # filter column names
    (f"id;{DROP}", "eq.1"),
    ("id or 1=1--", "eq.1"),
    ('"id""or 1=1--"', "eq.1"),
    ("value)or(1=1", "eq.x"),
    # filter values
    ("value", f"eq.{QUOTE} OR {QUOTE}1{QUOTE}={QUOTE}1"),
    ("id", f"eq.1;{DROP}"),
    ("id", "eq.1 OR 1=1"),
    ("id", f"in.(1);{DROP}--)"),
    ("id", "in.(1,2) or (1=1)"),
    ("value", f"like.%{QUOTE};{DROP}--"),
    ("value", f"is.null;{DROP}"),
    ("value", f"fts.x{QUOTE});{DROP}--"),
    ("or", f"(id.eq.1,id.eq.1);{DROP}--)"),
    ("or", f"(value.eq.{QUOTE} or 1=1--)"),
    ("not.and", f"(id.gt.0,value.neq.\\{QUOTE};{DROP})"),
    # order
    ("order", f"id;{DROP}"),
    ("order", "(select 1)"),
    ("order", "id.desc,1/0"),
    ("order", f"id.desc;{DROP}"),
    ("order", "case when 1=1 then id end"),
    # paging
    ("limit", f"1;{DROP}"),
    ("offset", f"0;{DROP}"),
    ("limit", "1 union select * from secrets"),
]
WRITES = [
    ("POST", [("columns", f"id,value);{DROP}--")], {"id": 7, "value": "x"}),
    ("POST", [("on_conflict", f"id);{DROP}--")], {"id": 1, "value": "x"}),
    ("POST", [], {f"value) values ('x');{DROP}--": "x", "id": 8}),
    ("PATCH", [("id", f"eq.1;{DROP}")], {"value": "x"}),
    ("PATCH", [("id", "eq.99")], {f"value = 'x';{DROP}--": "x"}),
    ("DELETE", [("id", "eq.1 or 1=1")], None),
    ("DELETE", [(f"id;{DROP}--", "eq.1")], None),
]
HEADERS = [
    {"Prefer": f"count=exact;{DROP}"},
    {"Prefer": f"return=representation, tx=commit;{DROP}"},
    {"Range": f"0-1;{DROP}"},
    {"Accept-Profile": f"main;{DROP}"},
    {"Accept-Profile": f"public; {DROP}"},
    {"Accept": f"application/json;{DROP}"},
]


def encode(params: list[tuple[str, str]]) -> str:
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def intact(board: RestBoard) -> None:
    """`secrets` still holds its row; if a payload changed it, put it back (then fail)."""
    status, rows, _ = board.call("GET", "/rest/v1/secrets?id=eq.1", key=board.service_key)
    if status == 200 and rows != [ROW]:
        board.call(
            "POST", "/rest/v1/secrets?on_conflict=id", key=board.service_key, body=ROW,
            headers={"Prefer": "resolution=merge-duplicates"},
        )  # fmt: skip
    assert status == 200 and rows == [ROW], f"secrets row 1 was changed or removed: {rows}"


def inert(status: int, body: object) -> None:
    assert status < 500, (status, body)
    if status >= 400:
        assert_pgrst_error(status, body)


@pytest.mark.parametrize("table", TABLES)
def test_sql_in_the_path_is_inert(board: RestBoard, table: str) -> None:
    path = "/rest/v1/" + urllib.parse.quote(table, safe="/")
    status, body, _ = board.call("GET", path, key=board.service_key)
    inert(status, body)
    intact(board)


@pytest.mark.parametrize(("key", "value"), PARAMS)
def test_sql_in_the_query_string_is_inert(board: RestBoard, key: str, value: str) -> None:
    path = "/rest/v1/secrets?" + encode([(key, value)])
    status, body, _ = board.call("GET", path, key=board.service_key)
    inert(status, body)
    intact(board)


@pytest.mark.parametrize(("method", "params", "body"), WRITES)
def test_sql_in_writes_is_inert(
    board: RestBoard, method: str, params: list[tuple[str, str]], body: object
) -> None:
    path = "/rest/v1/secrets?" + encode(params)
    status, answer, _ = board.call(
        method, path, key=board.service_key, body=body,
        headers={"Prefer": "return=representation"},
    )  # fmt: skip
    inert(status, answer)
    intact(board)


@pytest.mark.parametrize("headers", HEADERS)
def test_sql_in_headers_is_inert(board: RestBoard, headers: dict[str, str]) -> None:
    status, body, _ = board.call("GET", "/rest/v1/secrets", key=board.service_key, headers=headers)
    inert(status, body)
    intact(board)


def test_a_value_that_looks_like_sql_is_compared_as_a_value(board: RestBoard) -> None:
    tricky = "O'Brien'); DROP TABLE secrets; --"
    status, body, _ = board.call(
        "POST", "/rest/v1/secrets", key=board.service_key, body={"id": 42, "value": tricky},
        headers={"Prefer": "return=representation,resolution=merge-duplicates"},
    )  # fmt: skip
    assert status in (200, 201), body
    for params in (
        [("value", f"eq.{tricky}"), ("select", "id")],
        [("or", f'(value.eq."{tricky}",id.eq.-1)'), ("select", "id")],
    ):
        status, rows, _ = board.call(
            "GET", "/rest/v1/secrets?" + encode(params), key=board.service_key
        )
        assert (status, rows) == (200, [{"id": 42}]), params
    path = "/rest/v1/secrets?" + encode([("value", f"eq.{QUOTE} OR {QUOTE}1")])
    status, rows, _ = board.call("GET", path, key=board.service_key)
    assert (status, rows) == (200, [])
    intact(board)


@pytest.mark.parametrize("value", ["1abc", "1;drop table secrets", "1 or 1=1", "1.0x"])
def test_a_number_with_trailing_text_matches_no_row(board: RestBoard, value: str) -> None:
    """`id=eq.1abc` is a bad integer (22P02 on PostgreSQL), never `id = 1`."""
    params = encode([("id", f"eq.{value}")])
    rep = {"Prefer": "return=representation"}
    status, rows, _ = board.call("GET", f"/rest/v1/secrets?{params}", key=board.service_key)
    assert status == 400 or rows == [], (status, rows)
    status, rows, _ = board.call(
        "PATCH", f"/rest/v1/secrets?{params}", key=board.service_key, body={"value": "x"},
        headers=rep,
    )  # fmt: skip
    assert status == 400 or not rows, (status, rows)
    status, rows, _ = board.call(
        "DELETE", f"/rest/v1/secrets?{params}", key=board.service_key, headers=rep
    )
    assert status == 400 or not rows, (status, rows)
    intact(board)
