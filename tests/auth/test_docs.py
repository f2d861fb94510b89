"""docs/auth.md documents every `[auth]` key and every route MagAuth mounts."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import falcon

from components.auth.settings import AuthSettings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "auth.md").read_text()


def test_every_auth_key_is_documented() -> None:
    missing = [f.name for f in fields(AuthSettings) if f"`auth.{f.name}`" not in DOC]
    assert missing == [], f"document these keys in docs/auth.md: {missing}"


def test_every_route_is_documented(board) -> None:  # type: ignore[no-untyped-def]
    from components.auth.routes import PREFIX, mount

    app = falcon.App()
    auth = mount(app, board, services=None)
    routes = [r.uri_template for r in app._router._roots for r in _walk(r)]
    paths = [p[len(PREFIX) :].replace("{user_id}", "{id}") for p in routes if p.startswith(PREFIX)]
    assert paths and all(p.split("?")[0] in DOC for p in paths), paths
    auth.close()


def _walk(node):  # type: ignore[no-untyped-def]
    if node.resource is not None:
        yield node
    for child in node.children:
        yield from _walk(child)
