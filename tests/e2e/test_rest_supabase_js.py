"""End to end: the real `@supabase/supabase-js` drives `/rest/v1` on a booted board.

One board per engine (SQLite default store, PostgreSQL and MariaDB throwaway databases as
the board's `main`), booted with `mobo init` + `mobo boot` (tests/e2e/boards.py).
tests/e2e/crud.mjs signs two users up and in, then inserts, filters, orders, pages,
counts, upserts, updates, deletes, embeds, calls RPC (PostgreSQL) and checks row-level
security (the ownership rule on SQLite and MariaDB); it prints what the client returned
and the tests below assert on it, one concern each. Skipped only when node/npm cannot
install the client.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.e2e.boards import RestBoard
from tests.e2e.test_auth_supabase_js import HERE, ensure_supabase_js, node_flags

pytestmark = pytest.mark.integration
NODE_TIMEOUT_S = 180


@pytest.fixture(scope="session")
def js(rest: RestBoard) -> dict[str, Any]:
    """Run crud.mjs once per board; return its report."""
    ensure_supabase_js()
    args = [rest.url, rest.anon_key, rest.service_key, rest.engine]
    proc = subprocess.run(
        ["node", *node_flags(), str(HERE / "crud.mjs"), *args],
        capture_output=True, text=True, timeout=NODE_TIMEOUT_S, cwd=HERE, check=False,
    )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"crud.mjs printed no report:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1])


def ok(js: dict[str, Any], step: str) -> Any:
    """Return a step's data, failing with what the client said if it errored."""
    result = js["results"].get(step)
    assert result is not None, f"step {step!r} did not run"
    assert "thrown" not in result, f"{step}: the client threw {result['thrown']}"
    assert result["error"] is None, f"{step}: {json.dumps(result)[:1500]}"
    return result["data"]


def slugs(js: dict[str, Any], step: str) -> list[str]:
    return [row["slug"] for row in ok(js, step)]


def refused(js: dict[str, Any], step: str) -> dict[str, Any]:
    result = js["results"][step]
    assert "thrown" not in result, f"{step}: the client threw {result['thrown']}"
    assert result["error"] is not None, f"{step}: expected an error, got {json.dumps(result)}"
    return result


def test_sign_up_and_in(js: dict[str, Any]) -> None:
    for user in ("u1", "u2"):
        assert js["results"][f"signIn {user}"]["error"] is None
        assert js["users"][user]


def test_insert_single_bulk_and_minimal(js: dict[str, Any]) -> None:
    assert ok(js, "insert list")["name"] == "Home"
    single = ok(js, "insert single")
    assert single["slug"] == "milk" and single["user_id"] == js["users"]["u1"]
    assert single["done"] is False and single["note"] == "2 litres"
    assert sorted(row["slug"] for row in ok(js, "insert bulk")) == ["dog", "eggs", "plants", "tax"]
    minimal = js["results"]["insert minimal"]
    assert minimal["error"] is None and minimal["data"] is None and minimal["status"] == 201


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("eq", ["eggs", "plants"]),
        ("neq", ["dog", "milk", "minimal", "tax"]),
        ("gt", ["dog", "minimal", "tax"]),
        ("lt", ["milk"]),
        ("gte lte", ["dog", "eggs", "plants"]),
        ("like", ["milk"]),
        ("ilike", ["eggs", "milk"]),
        ("in", ["dog", "milk"]),
        ("is null", ["dog", "eggs", "minimal", "plants"]),
        ("not is null", ["milk", "tax"]),
        ("or", ["milk", "tax"]),
        ("match", ["eggs"]),
        ("range", ["eggs", "milk"]),
        ("limit", ["dog", "eggs"]),
    ],
)
def test_filters_and_pages(js: dict[str, Any], step: str, expected: list[str]) -> None:
    assert slugs(js, step) == expected


def test_order(js: dict[str, Any]) -> None:
    rows = ok(js, "order desc")
    assert [r["slug"] for r in rows] == ["tax", "minimal", "dog", "eggs", "plants", "milk"]
    assert [r["priority"] for r in rows] == [5, 4, 3, 2, 2, 1]


def test_count(js: dict[str, Any]) -> None:
    head = js["results"]["count head"]
    assert head["error"] is None and head["count"] == 6 and not head["data"]
    page = js["results"]["count range"]
    assert page["error"] is None and page["count"] == 6 and page["status"] == 206
    assert [r["slug"] for r in page["data"]] == ["dog", "eggs"]


def test_select_columns_and_renames(js: dict[str, Any]) -> None:
    assert ok(js, "select columns") == [{"slug": "milk", "title": "Buy milk"}]
    assert ok(js, "select rename") == [{"name": "Buy milk"}]


def test_single_and_maybe_single(js: dict[str, Any]) -> None:
    assert ok(js, "single") == {
        "slug": "milk", "title": "Buy milk", "priority": 1, "note": "2 litres", "done": False,
    }  # fmt: skip
    many = refused(js, "single many")
    assert many["error"]["code"] == "PGRST116" and many["status"] == 406
    assert ok(js, "maybeSingle none") is None
    assert ok(js, "maybeSingle one") == {"slug": "dog"}


def test_upsert_merge_and_ignore(js: dict[str, Any]) -> None:
    merged = ok(js, "upsert merge pk")
    assert len(merged) == 1 and merged[0]["id"] == js["ids"]["milk"]
    assert merged[0]["title"] == "Buy oat milk"
    assert ok(js, "upsert merge on_conflict") == [{"slug": "eggs", "title": "Buy a dozen eggs"}]
    assert ok(js, "upsert insert") == [{"slug": "bread", "title": "Bake bread"}]
    assert ok(js, "upsert ignore") == []
    assert ok(js, "after upsert ignore") == {"title": "Walk dog"}


def test_update_and_delete(js: dict[str, Any]) -> None:
    assert ok(js, "update") == [{"slug": "dog", "done": True}]
    assert sorted(ok(js, "update in"), key=lambda r: r["slug"]) == [
        {"slug": "bread", "priority": 7}, {"slug": "plants", "priority": 7},
    ]  # fmt: skip
    minimal = js["results"]["update minimal"]
    assert minimal["error"] is None and minimal["status"] == 204
    assert ok(js, "delete") == [{"slug": "minimal"}]
    assert js["results"]["after delete"]["count"] == 6


def test_embedding(js: dict[str, Any]) -> None:
    assert ok(js, "embed many-to-one") == {"slug": "milk", "lists": {"name": "Home"}}
    assert ok(js, "embed alias") == {"slug": "milk", "list": {"name": "Home"}}
    parent = ok(js, "embed one-to-many")
    assert parent["name"] == "Home"
    assert sorted(t["slug"] for t in parent["todos"]) == ["eggs", "milk"]
    assert ok(js, "embed filtered")["todos"] == [{"slug": "eggs"}]


def test_rpc(js: dict[str, Any]) -> None:
    if js["engine"] != "postgres":
        pytest.skip("RPC runs on PostgreSQL stores only")
    assert ok(js, "rpc args") == 5
    assert ok(js, "rpc get") == 9
    assert ok(js, "rpc rls c1") == 6  # the function runs as the caller: RLS applies inside
    assert ok(js, "rpc rls c2") == 1


def test_rls_each_user_sees_only_own_rows(js: dict[str, Any]) -> None:
    rows = ok(js, "rls c2 select")
    assert [r["user_id"] for r in rows] == [js["users"]["u2"]]
    assert ok(js, "rls c2 update other") == []
    assert ok(js, "rls c2 delete other") == []
    refused(js, "rls c2 insert as other")
    assert ok(js, "rls c2 embed") == {"name": "Home", "todos": []}
    assert ok(js, "rls c1 intact") == [
        {"slug": "eggs", "title": "Buy a dozen eggs"}, {"slug": "milk", "title": "Buy oat milk"},
    ]  # fmt: skip


def test_rls_anon_and_service_role(js: dict[str, Any]) -> None:
    anon = js["results"]["rls anon select"]
    assert anon.get("error") is not None or anon.get("data") == [], anon
    assert ok(js, "rls anon lists") == [{"name": "Home"}]
    refused(js, "rls anon insert")
    service = js["results"]["rls service select"]
    assert service["error"] is None and service["count"] == 7


def note_ids(js: dict[str, Any], step: str) -> list[int]:
    return [row["id"] for row in ok(js, step)]


def test_json_paths(js: dict[str, Any]) -> None:
    assert ok(js, "json path select") == [
        {"id": 1, "color": "red", "size": 3},
        {"id": 2, "color": "blue", "size": 1},
        {"id": 3, "color": "red", "size": None},
    ]
    assert note_ids(js, "json path filter") == [1, 3]


def test_text_search_and_containment(js: dict[str, Any]) -> None:
    """`.textSearch()` and array operators run on PostgreSQL; elsewhere they are refused
    with PGRST127 naming the engine. JSON `.contains()` also runs on MariaDB."""
    if js["engine"] == "postgres":
        assert note_ids(js, "textSearch") == [1]
        assert note_ids(js, "textSearch websearch") == [3]
        assert note_ids(js, "contains array") == [1]
        assert note_ids(js, "overlaps array") == [1, 2]
    else:
        error = refused(js, "textSearch")["error"]
        assert error["code"] == "PGRST127" and js["engine"] in error["details"]
        assert refused(js, "textSearch websearch")["error"]["code"] == "PGRST127"
    if js["engine"] == "sqlite":
        assert refused(js, "contains json")["error"]["code"] == "PGRST127"
    else:
        assert note_ids(js, "contains json") == [1, 3]


def test_aggregates_and_modifiers(js: dict[str, Any]) -> None:
    rows = ok(js, "aggregate")
    assert [(r["kind"], r["count"], r["sum"]) for r in rows] == [("memo", 2, 15), ("todo", 1, 1)]
    assert note_ids(js, "like any") == [1, 2]
