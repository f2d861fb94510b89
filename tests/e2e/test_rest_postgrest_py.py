"""End to end: the Python `postgrest` client (as in supabase-py) drives `/rest/v1`.

The same boards as the supabase-js suite (tests/e2e/conftest.py: one per engine). A
signed-in user does CRUD on its own rows of `todos`; the anon key is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from postgrest import APIError, CountMethod, SyncPostgrestClient

from tests.e2e.boards import RestBoard

pytestmark = pytest.mark.integration


@pytest.fixture
def user(rest: RestBoard) -> dict:
    session = rest.session(f"py-{uuid.uuid4().hex[:8]}@example.com", "py-pass-word")
    return {"id": session["user"]["id"], "token": session["access_token"]}


@pytest.fixture
def client(rest: RestBoard, user: dict) -> Iterator[SyncPostgrestClient]:
    headers = {"apikey": rest.anon_key, "Authorization": f"Bearer {user['token']}"}
    with SyncPostgrestClient(rest.url + "/rest/v1", headers=headers) as postgrest:
        yield postgrest


def test_postgrest_py_crud(client: SyncPostgrestClient, user: dict, rest: RestBoard) -> None:
    prefix = f"py-{uuid.uuid4().hex[:6]}"
    todos = client.from_("todos")
    row = {"slug": f"{prefix}-a", "title": "py one", "priority": 1, "user_id": user["id"]}
    created = todos.insert(row).execute()
    assert created.data[0]["slug"] == row["slug"] and created.data[0]["done"] is False

    bulk = [
        {"slug": f"{prefix}-{n}", "title": f"py {n}", "priority": n, "user_id": user["id"]}
        for n in (2, 3, 4)
    ]
    assert len(todos.insert(bulk).execute().data) == 3

    page = (
        todos.select("slug,priority", count=CountMethod.exact)
        .like("slug", f"{prefix}-%")
        .gt("priority", 1)
        .order("priority", desc=True)
        .limit(2)
        .execute()
    )
    assert [r["priority"] for r in page.data] == [4, 3] and page.count == 3
    picked = todos.select("slug").in_("priority", [1, 3]).like("slug", f"{prefix}-%").execute()
    assert sorted(r["slug"] for r in picked.data) == [f"{prefix}-3", f"{prefix}-a"]

    one = todos.select("title").eq("slug", f"{prefix}-a").single().execute()
    assert one.data == {"title": "py one"}

    updated = todos.update({"done": True}).eq("slug", f"{prefix}-2").execute()
    assert updated.data[0]["done"] is True

    upsert = {"slug": f"{prefix}-a", "title": "py one, again", "priority": 1, "user_id": user["id"]}
    merged = todos.upsert(upsert, on_conflict="slug").execute()
    assert merged.data[0]["title"] == "py one, again"

    deleted = todos.delete().like("slug", f"{prefix}-%").lt("priority", 3).execute()
    assert sorted(r["slug"] for r in deleted.data) == [f"{prefix}-2", f"{prefix}-a"]
    left = todos.select("slug", count=CountMethod.exact).like("slug", f"{prefix}-%").execute()
    assert left.count == 2


def test_postgrest_py_rpc(client: SyncPostgrestClient, rest: RestBoard) -> None:
    if rest.engine != "postgres":
        pytest.skip("RPC runs on PostgreSQL stores only")
    assert client.rpc("add_them", {"a": 20, "b": 22}).execute().data == 42


def test_postgrest_py_anon_is_refused(rest: RestBoard) -> None:
    headers = {"apikey": rest.anon_key, "Authorization": f"Bearer {rest.anon_key}"}
    with SyncPostgrestClient(rest.url + "/rest/v1", headers=headers) as anon:
        try:
            rows = anon.from_("todos").select("slug").execute().data
        except APIError as exc:
            assert exc.code == "42501", exc
        else:
            assert rows == []  # RLS hides every row from anon
        with pytest.raises(APIError):
            anon.from_("secrets").select("*").execute()
