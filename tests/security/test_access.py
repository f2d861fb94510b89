"""Who may touch what on `/rest/v1`, on every engine (RLS on PostgreSQL, mobo.toml's
permissions and ownership rule on SQLite and MariaDB).

- the anon key cannot read a table its policy or permissions deny;
- a user can neither read nor change another user's rows (select, update, delete,
  upsert over them, insert in their name, hand a row over);
- keys are never taken from the query string (`?apikey=`, `?access_token=`).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.boards import RestBoard
from tests.security.conftest import assert_pgrst_error

pytestmark = pytest.mark.integration
SECRET = "the launch codes"


@pytest.fixture(scope="module")
def people(board: RestBoard) -> dict[str, Any]:
    """Two signed-in users, each owning one todo."""
    tag = uuid.uuid4().hex[:8]
    found: dict[str, Any] = {"tag": tag}
    for name in ("alice", "bob"):
        session = board.session(f"{name}-{tag}@example.com", "sec-pass-word")
        user = {"id": session["user"]["id"], "token": session["access_token"]}
        row = {"slug": f"{name}-{tag}", "title": f"{name}'s", "user_id": user["id"]}
        status, body, _ = board.call(
            "POST", "/rest/v1/todos", key=board.anon_key, token=user["token"], body=row,
            headers={"Prefer": "return=representation"},
        )  # fmt: skip
        assert status == 201, body
        user["row"] = body[0]
        found[name] = user
    return found


def as_user(board: RestBoard, user: dict[str, Any], method: str, path: str, **kw: Any):  # type: ignore[no-untyped-def]
    return board.call(method, path, key=board.anon_key, token=user["token"], **kw)


def service_view(board: RestBoard, slug: str) -> list[dict[str, Any]]:
    status, rows, _ = board.call("GET", f"/rest/v1/todos?slug=eq.{slug}", key=board.service_key)
    assert status == 200, rows
    return rows


def test_anon_cannot_read_denied_tables(board: RestBoard) -> None:
    for table in ("secrets", "todos"):
        status, body, _ = board.call("GET", f"/rest/v1/{table}", key=board.anon_key)
        assert SECRET not in str(body)
        if status == 200:
            assert body == [], (table, body)  # RLS hides every row
        else:
            assert status == 401, (table, status, body)
            assert_pgrst_error(status, body)
            assert body["code"] == "42501"


def test_anon_cannot_read_rows_a_policy_hides(board: RestBoard) -> None:
    if board.engine != "postgres":
        pytest.skip("`hidden` (granted, but no policy) exists on PostgreSQL only")
    status, body, _ = board.call("GET", "/rest/v1/hidden", key=board.anon_key)
    assert (status, body) == (200, [])


def test_service_role_reads_everything(board: RestBoard) -> None:
    status, body, _ = board.call("GET", "/rest/v1/secrets", key=board.service_key)
    assert status == 200 and body[0]["value"] == SECRET


def test_a_user_cannot_read_another_users_rows(board: RestBoard, people: dict) -> None:
    alice, bob = people["alice"], people["bob"]
    status, rows, _ = as_user(board, bob, "GET", f"/rest/v1/todos?slug=eq.{alice['row']['slug']}")
    assert (status, rows) == (200, [])
    status, rows, _ = as_user(board, bob, "GET", f"/rest/v1/todos?id=eq.{alice['row']['id']}")
    assert (status, rows) == (200, [])
    status, rows, _ = as_user(board, bob, "GET", "/rest/v1/todos?select=user_id")
    assert status == 200 and {r["user_id"] for r in rows} == {bob["id"]}


def test_a_user_cannot_change_another_users_rows(board: RestBoard, people: dict) -> None:
    alice, bob = people["alice"], people["bob"]
    slug = alice["row"]["slug"]
    rep = {"Prefer": "return=representation"}
    status, rows, _ = as_user(
        board, bob, "PATCH", f"/rest/v1/todos?slug=eq.{slug}", body={"title": "pwned"}, headers=rep
    )
    assert status in (200, 204) and not rows, rows
    status, rows, _ = as_user(
        board, bob, "DELETE", f"/rest/v1/todos?id=eq.{alice['row']['id']}", headers=rep
    )
    assert status in (200, 204) and not rows, rows
    assert [r["title"] for r in service_view(board, slug)] == ["alice's"]


def test_a_user_cannot_upsert_over_another_users_row(board: RestBoard, people: dict) -> None:
    alice, bob = people["alice"], people["bob"]
    slug = alice["row"]["slug"]
    for owner in (bob["id"], alice["id"]):
        row = {"slug": slug, "title": "pwned by upsert", "user_id": owner}
        status, body, _ = as_user(
            board, bob, "POST", "/rest/v1/todos?on_conflict=slug", body=row,
            headers={"Prefer": "resolution=merge-duplicates,return=representation"},
        )  # fmt: skip
        assert status < 500, body
        assert [r["title"] for r in service_view(board, slug)] == ["alice's"], (owner, body)
        assert [r["user_id"] for r in service_view(board, slug)] == [alice["id"]]


def test_a_user_cannot_insert_in_another_users_name(board: RestBoard, people: dict) -> None:
    alice, bob = people["alice"], people["bob"]
    slug = f"forged-{people['tag']}"
    row = {"slug": slug, "title": "forged", "user_id": alice["id"]}
    status, body, _ = as_user(board, bob, "POST", "/rest/v1/todos", body=row)
    assert status in (401, 403), (status, body)
    assert_pgrst_error(status, body)
    assert service_view(board, slug) == []


def test_a_user_cannot_give_a_row_away(board: RestBoard, people: dict) -> None:
    alice, bob = people["alice"], people["bob"]
    slug = bob["row"]["slug"]
    status, body, _ = as_user(
        board, bob, "PATCH", f"/rest/v1/todos?slug=eq.{slug}", body={"user_id": alice["id"]}
    )
    assert status in (401, 403), (status, body)
    assert [r["user_id"] for r in service_view(board, slug)] == [bob["id"]]


@pytest.mark.parametrize("param", ["apikey", "access_token", "token", "key", "jwt"])
def test_keys_in_the_query_string_are_never_used(board: RestBoard, param: str) -> None:
    path = f"/rest/v1/secrets?{param}={board.service_key}"
    status, body, _ = board.call("GET", path)
    assert status == 401, (status, body)
    assert SECRET not in str(body)
    status, body, _ = board.call("GET", path, key=board.anon_key)  # anon key in the header
    assert SECRET not in str(body)
    assert status in (400, 401), (status, body)  # unknown filter or permission denied


def test_admin_api_ignores_keys_in_the_query_string(board: RestBoard) -> None:
    status, body, _ = board.call("GET", f"/auth/v1/admin/users?apikey={board.service_key}")
    assert status in (401, 403), (status, body)
    status, body, _ = board.call(
        "GET", f"/auth/v1/admin/users?access_token={board.service_key}", key=board.anon_key
    )
    assert status in (401, 403), (status, body)
