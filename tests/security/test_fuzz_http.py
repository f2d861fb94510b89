"""Property test through HTTP: any query string and header on `/rest/v1` gives a 2xx or a
4xx with PostgREST's error body, never a 5xx, on every engine.

The gateway's own app (create_app) runs in this process on a throwaway store holding the
e2e tables, driven by falcon's TestClient with the service key (so no permission check
stops a request before its query is built) or the anon key.
"""

from __future__ import annotations

import json
import urllib.parse

from falcon import testing
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.security.conftest import App

EXAMPLES = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
COLUMNS = ["id", "slug", "title", "done", "priority", "note", "user_id", "list_id", "name",
           "value", "owner", "*", "nope"]  # fmt: skip
TOKENS = [
    *COLUMNS, *"abc019.,:()!*\"\\{}-> _%;='", "eq.", "neq.", "gt.", "lte.", "like.", "ilike.",
    "in.(", "is.", "not.", "null", "true", "or=(", "and(", "or(", "fts.", "cs.{", "match.",
    "isdistinct.", "(any)", "->", "->>", "::text", "::int", "!inner", "lists(", "todos(",
    "count()", ".sum()", ".asc", ".desc", ".nullslast", "'; DROP TABLE todos;--", "ü", "\x00",
    "9999999999999999999999", "-1", "1e308", "NaN",
]  # fmt: skip
KEYS = ["select", "order", "limit", "offset", "or", "and", "not.or", "columns", "on_conflict",
        "todos.order", "todos.limit", "lists.slug", "todos.or", *COLUMNS]  # fmt: skip
TABLES = ["todos", "lists", "secrets", "nope", "rpc/add_them", "rpc/whoami", "rpc/nope"]
PREFER = ["count=exact", "count=planned", "return=representation", "return=minimal",
          "resolution=merge-duplicates", "missing=default", "handling=strict",
          "timezone=Mars/Base", "max-affected=1", "tx=rollback"]  # fmt: skip
ACCEPT = ["application/json", "application/vnd.pgrst.object+json", "text/csv", "*/*",
          "application/geo+json", "text/html", "application/vnd.pgrst.plan+json"]  # fmt: skip

grammarish = st.lists(st.sampled_from(TOKENS), max_size=10).map("".join)
text = st.one_of(grammarish, st.text(max_size=24))
column = st.sampled_from(COLUMNS[:8])
OPERATORS = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "in", "not.eq",
             "not.in", "not.is", "match", "isdistinct", "fts", "cs"]  # fmt: skip
operator = st.sampled_from(OPERATORS)
value = st.one_of(
    st.integers(-5, 20).map(str),
    st.sampled_from(["null", "true", "false", "*a*", "milk", "", "(1,2)", '("a,b",c)']),
    st.lists(st.integers(0, 9).map(str), max_size=3).map(lambda v: f"({','.join(v)})"),
    text,
)
condition = st.builds(lambda c, o, v: f"{c}.{o}.{v}", column, operator, value)
well_formed = st.one_of(
    st.tuples(column, st.builds(lambda o, v: f"{o}.{v}", operator, value)),
    st.tuples(st.just("select"), st.lists(st.sampled_from(
        [*COLUMNS[:8], "*", "lists(name)", "list:lists(*)", "todos(slug)", "t:title",
         "priority::text", "lists!inner(id)"]), min_size=1, max_size=4).map(",".join)),
    st.tuples(st.just("order"), st.lists(st.builds(lambda c, d: c + d, column, st.sampled_from(
        ["", ".asc", ".desc", ".nullsfirst", ".desc.nullslast"])), min_size=1, max_size=3
    ).map(",".join)),
    st.tuples(st.sampled_from(["limit", "offset"]), st.integers(-2, 50).map(str)),
    st.tuples(st.sampled_from(["or", "and", "not.or"]),
              st.lists(condition, min_size=1, max_size=3).map(lambda c: f"({','.join(c)})")),
)  # fmt: skip
pairs = st.lists(
    st.one_of(well_formed, well_formed, st.tuples(st.one_of(st.sampled_from(KEYS), text), text)),
    max_size=5,
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Prefer": st.one_of(st.lists(st.sampled_from(PREFER), max_size=3).map(",".join), text),
        "Range": st.one_of(st.sampled_from(["0-9", "5-", "1-0", "0-99999999999"]), text),
        "Accept": st.one_of(st.sampled_from(ACCEPT), text),
        "Accept-Profile": st.sampled_from(["main", "main", "public", "nope"]),
    },
)
bodies = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {}, optional={c: st.one_of(st.integers(), text, st.none()) for c in COLUMNS[:8]}
    ),
    st.lists(st.fixed_dictionaries({"slug": text, "title": text}), max_size=3),
    text,
)


def request(
    app: App, method: str, table: str, query: list, sent: dict, body: object, service: bool
):  # type: ignore[no-untyped-def]
    key = app.service_key if service else app.anon_key
    client = testing.TestClient(app.app)
    return client.simulate_request(
        method,
        "/rest/v1/" + urllib.parse.quote(table, safe="/"),
        query_string=urllib.parse.urlencode(query, quote_via=urllib.parse.quote),
        headers={"apikey": key, "Authorization": f"Bearer {key}", **sent},
        body=json.dumps(body) if not isinstance(body, str) else body,
    )


def assert_4xx_or_2xx(result, method: str) -> None:  # type: ignore[no-untyped-def]
    assert result.status_code < 500, (result.status_code, result.text[:2000])
    if result.status_code >= 400 and method != "HEAD":
        body = result.json
        assert {"code", "message", "details", "hint"} <= body.keys(), body


@EXAMPLES
@given(
    method=st.sampled_from(["GET", "HEAD", "GET", "DELETE", "PATCH", "POST"]),
    table=st.one_of(st.sampled_from(TABLES[:3]), st.sampled_from(TABLES), text),
    query=pairs,
    sent=headers,
    body=bodies,
    service=st.booleans(),
)
def test_any_request_is_2xx_or_4xx(
    app: App, method: str, table: str, query: list, sent: dict, body: object, service: bool
) -> None:
    result = request(app, method, table, query, sent, body, service)
    event(f"{method} {result.status_code}")
    assert_4xx_or_2xx(result, method)
