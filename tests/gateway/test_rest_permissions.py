"""Permissions and the ownership rule on SQLite and MariaDB (stores without RLS).

mobo.toml's `[datastores.main.permissions.<table>]` grants operations per role; with
`owner`, a non-service caller only reaches rows whose owner column is its `sub`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.rest_support import Board, make_board, store_with

IDENTITY = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "mysql": "INTEGER AUTO_INCREMENT PRIMARY KEY",
}
PERMISSIONS = {
    "todos": {"authenticated": ["all"], "owner": "user_id"},
    "comments": {"authenticated": ["select", "insert"], "owner": "user_id"},
    "notices": {"anon": ["select"], "authenticated": ["select"]},
    "posts": {
        "anon": ["select"],
        "authenticated": ["all"],
        "owner": "author_id",
        "owner_ops": ["insert", "update", "delete"],
    },
}


def ddl(engine: str) -> list[str]:
    key = IDENTITY[engine]
    return [
        f"CREATE TABLE todos (id {key}, user_id VARCHAR(36), task VARCHAR(100) NOT NULL)",
        f"CREATE TABLE comments (id {key}, todo_id INTEGER NOT NULL, user_id VARCHAR(36),"
        " body VARCHAR(100), CONSTRAINT comments_todo_fkey FOREIGN KEY (todo_id)"
        " REFERENCES todos(id))",
        "CREATE TABLE notices (id INTEGER PRIMARY KEY, body VARCHAR(100))",
        "CREATE TABLE secrets (id INTEGER PRIMARY KEY, body VARCHAR(100))",
        f"CREATE TABLE posts (id {key}, author_id VARCHAR(36), body VARCHAR(100))",
        "INSERT INTO notices VALUES (1, 'hello')",
        "INSERT INTO secrets VALUES (1, 'classified')",
    ]


@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def board(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Board]:
    tmp = tmp_path_factory.mktemp(request.param)
    with store_with(request.param, tmp, ddl(request.param)) as (settings, _):
        b = Board(make_board(tmp / "home", settings, PERMISSIONS))
        yield b
        b.close()


@pytest.fixture
def users(board: Board) -> Iterator[tuple[str, str]]:
    alice, bob = board.user("a" * 8 + "-0000-4000-8000-" + "a" * 12), board.user()
    for token, task in ((alice, "alice's"), (bob, "bob's")):
        got = board.post("todos", {"task": task}, key=token)
        assert got.status_code == 201, got.text
    yield alice, bob
    for table in ("comments", "todos", "posts"):
        board.delete(f"{table}?id=not.is.null")


def tasks(board: Board, key: str) -> list[str]:
    got = board.get("todos?select=task&order=id", key=key)
    assert got.status_code == 200, got.text
    return [row["task"] for row in got.json]


def test_owners_see_and_change_only_their_rows(board: Board, users: tuple[str, str]) -> None:
    alice, bob = users
    assert tasks(board, alice) == ["alice's"]
    assert tasks(board, bob) == ["bob's"]
    assert tasks(board, "service") == ["alice's", "bob's"]
    alices = board.get("todos?select=id,user_id", key=alice).json[0]
    assert alices["user_id"] == "a" * 8 + "-0000-4000-8000-" + "a" * 12  # set from the token
    got = board.patch(f"todos?id=eq.{alices['id']}", {"task": "pwned"}, key=bob)
    assert got.status_code == 204 and got.headers["Content-Range"] == "*/*"
    assert board.delete(f"todos?id=eq.{alices['id']}", key=bob).status_code == 204
    assert tasks(board, alice) == ["alice's"]
    got = board.patch("todos?id=not.is.null", {"task": "mine"}, key=alice)
    assert got.headers["Content-Range"] == "0-0/*"
    assert tasks(board, bob) == ["bob's"]


def test_ownership_cannot_be_forged(board: Board, users: tuple[str, str]) -> None:
    alice, bob = users
    alices = board.get("todos?select=id,user_id,task", key=alice).json[0]
    got = board.post("todos", {"task": "planted", "user_id": alices["user_id"]}, key=bob)
    assert got.status_code == 403 and got.json["code"] == "42501"
    got = board.patch("todos?id=not.is.null", {"user_id": alices["user_id"]}, key=bob)
    assert got.status_code == 403
    merge = {"Prefer": "resolution=merge-duplicates"}
    got = board.post("todos", {"id": alices["id"], "task": "stolen"}, key=bob, headers=merge)
    assert got.status_code == 403
    ignore = {"Prefer": "resolution=ignore-duplicates"}
    got = board.post("todos", {"id": alices["id"], "task": "stolen"}, key=bob, headers=ignore)
    assert got.status_code == 201
    assert tasks(board, alice) == [alices["task"]]
    got = board.post("todos", {"id": alices["id"], "task": "edited"}, key=alice, headers=merge)
    assert got.status_code == 201, got.text
    assert tasks(board, alice) == ["edited"]


def test_operations_not_granted_are_refused(board: Board, users: tuple[str, str]) -> None:
    alice, _ = users
    got = board.get("todos", key="anon")
    assert got.status_code == 401
    assert got.json == {"code": "42501", "message": "permission denied for table todos",
                        "details": None, "hint": None}  # fmt: skip
    assert board.get("notices?select=body", key="anon").json == [{"body": "hello"}]
    assert board.post("notices", {"id": 2, "body": "x"}, key="anon").status_code == 401
    assert board.post("notices", {"id": 2, "body": "x"}, key=alice).status_code == 403
    todo = board.get("todos?select=id", key=alice).json[0]["id"]
    assert board.delete(f"comments?todo_id=eq.{todo}", key=alice).status_code == 403
    got = board.post("todos", {"task": "x"}, key=alice, headers={"Prefer": "return=representation"})
    assert got.status_code == 201  # select is granted too


def test_tables_without_a_rule_are_closed_but_to_the_service_role(board: Board) -> None:
    assert board.get("secrets", key="anon").status_code == 401
    assert board.get("secrets", key=board.user()).status_code == 403
    assert board.get("secrets").json == [{"id": 1, "body": "classified"}]


def test_public_read_owner_write(board: Board, users: tuple[str, str]) -> None:
    alice, bob = users
    assert board.post("posts", {"body": "by alice"}, key=alice).status_code == 201
    assert board.post("posts", {"body": "by anon"}, key="anon").status_code == 401
    assert [p["body"] for p in board.get("posts", key="anon").json] == ["by alice"]
    assert [p["body"] for p in board.get("posts", key=bob).json] == ["by alice"]
    board.patch("posts?id=not.is.null", {"body": "edited"}, key=bob)
    assert board.get("posts?select=body", key=bob).json == [{"body": "by alice"}]
    board.patch("posts?id=not.is.null", {"body": "edited"}, key=alice)
    assert board.get("posts?select=body", key=bob).json == [{"body": "edited"}]


def test_embedded_tables_follow_their_own_rules(board: Board, users: tuple[str, str]) -> None:
    alice, bob = users
    todo = board.get("todos?select=id", key=alice).json[0]["id"]
    assert board.post("comments", {"todo_id": todo, "body": "mine"}, key=alice).status_code == 201
    assert board.post("comments", {"todo_id": todo, "body": "bob's"}, key=bob).status_code == 201
    got = board.get("todos?select=task,comments(body)", key=alice)
    assert got.json == [{"task": "alice's", "comments": [{"body": "mine"}]}]
    got = board.get("todos?select=task,comments!inner(body)", key=bob)
    assert got.json == []  # bob's own todo has no comment of his; alice's todo is not his
    got = board.get("notices?select=body", key="anon")
    assert got.status_code == 200


def test_the_boards_own_tables_are_not_exposed(board: Board) -> None:
    auth = board.services.provided["auth"]
    assert auth is not None and "auth_users" in auth.store.adapter.refresh_schema().tables
    for table in ("auth_users", "auth_refresh_tokens", "mobo_migrations"):
        got = board.get(table)
        assert got.status_code == 404 and got.json["code"] == "PGRST205"


def test_rpc_needs_postgres(board: Board) -> None:
    got = board.post("rpc/anything", {})
    assert got.status_code == 400 and got.json["code"] == "PGRST127"


def test_nothing_is_granted_by_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with store_with("sqlite", tmp_path, ["CREATE TABLE t (id INTEGER PRIMARY KEY)"]) as (s, _):
        bare = Board(make_board(tmp_path / "home", s))
        try:
            assert bare.get("t", key="anon").status_code == 401
            assert bare.get("t", key=bare.user()).status_code == 403
            assert bare.get("t").status_code == 200
        finally:
            bare.close()


def test_profiles_pick_the_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    main_ddl = [
        "CREATE TABLE t (id INTEGER PRIMARY KEY, here TEXT)",
        "INSERT INTO t VALUES (1, 'main')",
    ]
    edge_ddl = [
        "CREATE TABLE t (id INTEGER PRIMARY KEY, here TEXT)",
        "INSERT INTO t VALUES (1, 'edge')",
    ]
    with (
        store_with("sqlite", tmp_path / "m", main_ddl) as (main, _),
        store_with("sqlite", tmp_path / "e", edge_ddl) as (edge, _),
    ):
        open_to_anon = {"t": {"anon": ["all"]}}
        config = make_board(
            tmp_path / "home", main, others={"edge": {**edge, "permissions": open_to_anon}}
        )
        two = Board(config)
        try:
            assert two.get("t?select=here").json == [{"here": "main"}]
            assert two.get("t?select=here", key="anon").status_code == 401  # main grants nothing
            read_edge = {"Accept-Profile": "edge"}
            got = two.get("t?select=here", key="anon", headers=read_edge)
            assert got.json == [{"here": "edge"}]
            write_edge = {"Content-Profile": "edge"}
            got = two.post("t", {"id": 2, "here": "new"}, key="anon", headers=write_edge)
            assert got.status_code == 201, got.text
            assert len(two.get("t", headers=read_edge).json) == 2
            assert len(two.get("t").json) == 1
            got = two.get("t", headers={"Accept-Profile": "nowhere"})
            assert got.status_code == 406 and got.json["hint"].endswith("main, edge, public")
            public = {"Accept-Profile": "public"}  # what supabase-js sends: the default store
            assert two.get("t?select=here", headers=public).json == [{"here": "main"}]
        finally:
            two.close()
