"""`POST /realtime/v1/auth` refusals: the exact bodies and statuses, on an in-process app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.rest_support import Board, make_board

PERMISSIONS = {"todos": {"authenticated": ["select"]}}


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    home: Path = tmp_path_factory.mktemp("channel-auth")
    config = make_board(home, {"engine": "sqlite", "path": str(home / "main.db")}, PERMISSIONS)
    found = Board(config)
    adapter = found.services.datastores["main"]  # type: ignore[index]
    adapter.raw("CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT)")
    adapter.raw("CREATE TABLE secrets (id INTEGER PRIMARY KEY)")
    adapter.refresh_schema()
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


def test_anon_may_not_join_private_channels(board: Board) -> None:
    got = authorize(board, "socket_id=1.2&channel_name=private-room", board.anon)
    assert got.status_code == 403
    assert got.text == (
        '{"code": "42501", "message": "not allowed to join private-room: sign in: anon may '
        'not join private channels", "details": null, "hint": null}'
    )


def test_anon_refused_a_table_is_403_not_401(board: Board) -> None:
    got = authorize(board, "socket_id=1.2&channel_name=private-db.main.todos", board.anon)
    assert got.status_code == 403
    assert got.text == (
        '{"code": "42501", "message": "not allowed to join private-db.main.todos: role anon '
        'may not read main.todos", "details": null, "hint": null}'
    )


def test_a_user_joins_a_granted_table_only(board: Board) -> None:
    token = board.user()
    got = authorize(board, "socket_id=1.2&channel_name=private-db.main.todos", board.anon, token)
    assert got.status_code == 200 and "auth" in got.json
    got = authorize(board, "socket_id=1.2&channel_name=private-db.main.secrets", board.anon, token)
    assert got.status_code == 403 and got.json["code"] == "42501"


def test_unknown_and_board_tables_are_404(board: Board) -> None:
    got = authorize(board, "socket_id=1.2&channel_name=private-db.main.nothing", board.service)
    assert got.status_code == 404
    assert got.text == (
        '{"code": "PGRST205", "message": "no table nothing in store main", "details": null, '
        '"hint": null}'
    )
    got = authorize(board, "socket_id=1.2&channel_name=private-db.main.mobo_migrations",
                    board.service)  # fmt: skip
    assert got.status_code == 404
    got = authorize(board, "socket_id=1.2&channel_name=private-db.other.todos", board.service)
    assert got.status_code == 404
    assert got.text == (
        '{"code": "PGRST205", "message": "no store named other", "details": null, '
        '"hint": "stores: main"}'
    )


def test_a_malformed_body_is_400_mobo400(board: Board) -> None:
    got = authorize(board, "socket_id=nope&channel_name=private-room", board.service)
    assert got.status_code == 400
    assert got.text == (
        '{"code": "MOBO400", "message": "socket_id is missing or not a Pusher socket id '
        '(digits.digits)", "details": null, "hint": "see docs/realtime.md"}'
    )


def test_magauths_tables_are_404_even_under_a_wildcard_grant(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Regression: a `"*"` select grant let a signed-in user join `auth_users`' channel on
    SQLite and MariaDB (password hashes in its changes); REST never served those tables."""
    home: Path = tmp_path_factory.mktemp("channel-auth-wildcard")
    grant = {"*": {"authenticated": ["select"]}}
    config = make_board(home, {"engine": "sqlite", "path": str(home / "main.db")}, grant)
    board = Board(config)
    adapter = board.services.datastores["main"]  # type: ignore[index]
    # MagAuth's tables as the embedded board keeps them, beside the user's
    adapter.raw("CREATE TABLE auth_users (id TEXT PRIMARY KEY, encrypted_password TEXT)")
    adapter.raw("CREATE TABLE auth_sessions (id TEXT PRIMARY KEY)")
    adapter.refresh_schema()
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
