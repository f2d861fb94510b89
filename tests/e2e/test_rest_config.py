"""The REST API on boards configured exactly as the documentation shows."""

from __future__ import annotations

import pytest

from tests.e2e.boards import rest_board

pytestmark = pytest.mark.integration


def test_permissions_on_the_embedded_store_as_documented_let_users_sign_up() -> None:
    """docs/rest.md declares `[datastores.main.permissions.*]` on the embedded SQLite store
    without naming its engine; MagAuth must still open that store (it raised
    `ConfigError: datastores.main.engine is missing`, a 500 on every /auth/v1 call)."""
    with rest_board("sqlite", spelled_out=False) as board:
        body = {"email": "documented@example.com", "password": "doc-pass-word"}
        status, session, _ = board.call("POST", "/auth/v1/signup", key=board.anon_key, body=body)
        assert status == 200, session
        status, rows, _ = board.call(
            "GET", "/rest/v1/lists", key=board.anon_key, token=session["access_token"]
        )
        assert (status, rows) == (200, [])
