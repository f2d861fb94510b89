"""Property tests: any query string or header gives a description or a 4xx, never a crash;
SQL in a value is carried as data, never as structure."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.datastore.query import Op
from components.gateway.errors import ApiError
from components.gateway.postgrest import (
    ColumnPath,
    Filter,
    Kind,
    Or,
    ParsedRequest,
    parse_request,
    to_query,
)

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    *"abcxyz019.,:()!*\"\\{}[]-> \t_$'%;=",
    "eq.", "not.", "in.(", "is.", "null", "not_null", "or", "and", "or=(", "and(", "not.and(",
    "fts(english).", "like(any).", "eq(all).", "->", "->>", "::", "!inner", "!left", "...",
    "count()", ".sum()", "asc", ".desc", ".nullslast", "'; DROP TABLE x;--", "ünï", "\x00",
]  # fmt: skip
KEYS = [
    "select", "order", "limit", "offset", "or", "and", "not.or", "columns", "on_conflict",
    "id", "films.year", "actors.order", "actors.limit", "actors.or", "data->>k", '"a.b"',
]  # fmt: skip
HEADERS = ["Prefer", "Range", "Range-Unit", "Accept", "Content-Type", "Accept-Profile",
           "Content-Profile"]  # fmt: skip
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "get", "X"]

grammarish = st.lists(st.sampled_from(TOKENS), max_size=12).map("".join)
text = st.one_of(grammarish, st.text(max_size=30))
keys = st.one_of(st.sampled_from(KEYS), text)
values = st.one_of(st.none(), text)
targets = st.one_of(
    st.sampled_from(["t", "", "/", "rpc/f", "rpc", "a/b", "rpc/f/g"]),
    text,
    st.lists(text, max_size=3),
)
headers = st.lists(st.tuples(st.one_of(st.sampled_from(HEADERS), text), text), max_size=5)
bodies = st.one_of(
    st.none(),
    st.integers(),
    st.dictionaries(text, st.one_of(st.none(), st.integers(), text), max_size=3),
    st.lists(st.dictionaries(st.sampled_from("abc"), st.integers(), max_size=3), max_size=3),
)


def describe(method, target, params, header_pairs) -> ParsedRequest | None:
    """Parse; return None for an ApiError, which must be a client error."""
    try:
        return parse_request(method, target, params, header_pairs)
    except ApiError as exc:
        assert 400 <= exc.status_code < 500, exc.body
        assert set(exc.body) == {"code", "message", "details", "hint"}
        return None


@FUZZ
@given(
    method=st.sampled_from(METHODS),
    target=targets,
    params=st.lists(st.tuples(keys, values), max_size=6),
    header_pairs=headers,
    body=bodies,
    unfiltered=st.booleans(),
)
def test_any_request_is_described_or_refused_with_a_4xx(
    method, target, params, header_pairs, body, unfiltered
) -> None:
    request = describe(method, target, params, header_pairs)
    if request is None or request.kind is not Kind.TABLE:
        return
    try:
        to_query(request, body, allow_unfiltered=unfiltered)
    except ApiError as exc:
        assert 400 <= exc.status_code < 500, exc.body


@FUZZ
@given(key=st.sampled_from(["select", "order", "or", "and", "id", "columns"]), value=grammarish)
def test_grammar_shaped_values_never_crash(key: str, value: str) -> None:
    describe("POST" if key == "columns" else "GET", "t", [(key, value)], [])


SQL = st.one_of(
    st.sampled_from(
        [
            "'; DROP TABLE x;--",
            "1; DELETE FROM users",
            "' OR '1'='1",
            'a") OR ("1"="1',
            "x),(select pg_sleep(10)",
            "\\'; --",
        ]
    ),
    st.text(max_size=40),
)


def quote(value: str) -> str:
    """Quote a value for an `in.(...)` list or an `or=(...)` tree."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@FUZZ
@given(value=SQL, op=st.sampled_from(["eq", "neq", "like", "ilike", "gt", "match", "cs"]))
def test_a_top_level_value_is_data_verbatim(value: str, op: str) -> None:
    request = parse_request("GET", "t", [("name", f"{op}.{value}")], {})
    assert request.filters == {(): (Filter(ColumnPath("name"), Op(op), value),)}


@FUZZ
@given(value=SQL)
def test_a_value_reaches_the_query_verbatim(value: str) -> None:
    query = to_query(parse_request("GET", "t", [("name", f"not.eq.{value}")], {}))
    assert (query.where.column, query.where.value, query.where.negate) == ("name", value, True)


@FUZZ
@given(items=st.lists(SQL, min_size=1, max_size=5))
def test_quoted_in_items_are_data(items: list[str]) -> None:
    value = "in.(" + ",".join(quote(v) for v in items) + ")"
    request = parse_request("GET", "t", [("name", value)], {})
    assert request.filters == {(): (Filter(ColumnPath("name"), Op.IN, tuple(items)),)}


@FUZZ
@given(value=SQL)
def test_quoted_logic_values_are_data(value: str) -> None:
    tree = f"(name.eq.{quote(value)},id.eq.1)"
    request = parse_request("GET", "t", [("or", tree)], {})
    expected = Or((Filter(ColumnPath("name"), Op.EQ, value), Filter(ColumnPath("id"), Op.EQ, "1")))
    assert request.filters == {(): (expected,)}


@FUZZ
@given(name=SQL.filter(bool))
def test_a_quoted_column_name_is_data(name: str) -> None:
    request = parse_request("GET", "t", [(quote(name), "eq.1"), ("select", quote(name))], {})
    assert request.filters[()][0].path == ColumnPath(name)
    assert request.select[0].path == ColumnPath(name)


@pytest.mark.parametrize(
    "key",
    ["name'; DROP TABLE x;--", "a;b", "a'b", "a(b)", "a=b", 'a"b'],
)
def test_sql_in_an_unquoted_key_is_refused(key: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_request("GET", "t", [(key, "eq.1")], {})
    assert info.value.body["code"] == "PGRST100"
