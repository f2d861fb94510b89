"""`POST /realtime/v1/auth` refusals: the exact bodies and statuses, on an in-process app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.rest_support import Board, make_board

PERMISSIONS = {"todos": {"authenticated": ["select"]}}


def sqlite_board(home: Path, permissions: dict[str, Any], *tables: str) -> Board:
    """An in-process board on an embedded SQLite store holding `tables` (DDL)."""
    store = {"engine": "sqlite", "path": str(home / "main.db")}
    found = Board(make_board(home, store, permissions))
    adapter = found.services.datastores["main"]  # type: ignore[index]
    for ddl in tables:
        adapter.raw(ddl)
    adapter.refresh_schema()
    return found


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    found = sqlite_board(
        tmp_path_factory.mktemp("channel-auth"),
        PERMISSIONS,
        "CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT)",
        "CREATE TABLE secrets (id INTEGER PRIMARY KEY)",
    )
    yield found
    found.close()


def authorize(board: Board, body: str, key: str | None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if key:
        headers["apikey"] = key
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return board.client.simulate_post("/realtime/v1/auth", body=body, headers=headers)


def test_no_credentials_is_401_with_the_hint(board: Board) -> None:
    got = authorize(board, "socket_id=1.2&channel_name=private-db.main.todos", None)
    assert got.status_code == 401 and got.headers["WWW-Authenticate"] == "Bearer"
    assert got.text == (
        '{"code": "PGRST302", "message": "No API key found in request", "details": null, '
        '"hint": "send a user\'s access token or an API key (apikey / Authorization: Bearer)"}'
    )


def test_a_bad_token_is_401_pgrst301(board: Board) -> None:
    got = authorize(board, "socket_id=1.2&channel_name=private-db.main.todos", "not-a-jwt")
    assert got.status_code == 401 and got.json["code"] == "PGRST301"
    assert got.json["hint"].startswith("send a user's access token")


def test_a_user_joins_a_granted_table_only(board: Board) -> None:
    token = board.user()
    got = authorize(board, "socket_id=1.2&channel_name=private-db.main.todos", board.anon, token)
    assert got.status_code == 200 and "auth" in got.json
    got = authorize(board, "socket_id=1.2&channel_name=private-db.main.secrets", board.anon, token)
    assert got.status_code == 403 and got.json["code"] == "42501"


def refused(code: str, message: str, hint: str | None = None) -> str:
    """The exact body of a refusal, as the gateway writes it."""
    return json.dumps({"code": code, "message": message, "details": None, "hint": hint})


@pytest.mark.parametrize(
    ("channel", "key", "status", "body"),
    [
        ("private-room", "anon", 403, refused(
            "42501", "not allowed to join private-room: sign in: anon may not join private "
            "channels")),
        ("private-db.main.todos", "anon", 403, refused(
            "42501", "not allowed to join private-db.main.todos: role anon may not read "
            "main.todos")),
        ("private-db.main.nothing", "service", 404, refused(
            "PGRST205", "no table nothing in store main")),
        ("private-db.main.mobo_migrations", "service", 404, refused(
            "PGRST205", "no table mobo_migrations in store main")),
        ("private-db.other.todos", "service", 404, refused(
            "PGRST205", "no store named other", "stores: main")),
    ],
)  # fmt: skip
def test_refusals_have_postgrests_body(
    board: Board, channel: str, key: str, status: int, body: str
) -> None:
    got = authorize(board, f"socket_id=1.2&channel_name={channel}", getattr(board, key))
    assert (got.status_code, got.text) == (status, body)


def test_a_malformed_body_is_400_mobo400(board: Board) -> None:
    got = authorize(board, "socket_id=nope&channel_name=private-room", board.service)
    assert (got.status_code, got.text) == (400, refused(
        "MOBO400", "socket_id is missing or not a Pusher socket id (digits.digits)",
        "see docs/realtime.md"))  # fmt: skip


def test_magauths_tables_are_404_even_under_a_wildcard_grant(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Regression: a `"*"` select grant let a signed-in user join `auth_users`' channel on
    SQLite and MariaDB (password hashes in its changes); REST never served those tables."""
    board = sqlite_board(
        tmp_path_factory.mktemp("channel-auth-wildcard"),
        {"*": {"authenticated": ["select"]}},
        # MagAuth's tables as the embedded board keeps them, beside the user's
        "CREATE TABLE auth_users (id TEXT PRIMARY KEY, encrypted_password TEXT)",
        "CREATE TABLE auth_sessions (id TEXT PRIMARY KEY)",
    )
    try:
        token = board.user()
        for table in ("auth_users", "auth_sessions"):
            body = f"socket_id=1.2&channel_name=private-db.main.{table}"
            got = authorize(board, body, board.anon, token)
            assert got.status_code == 404, (table, got.text)
            got = authorize(board, body, board.service)
            assert got.status_code == 404, (table, got.text)
    finally:
        board.close()
