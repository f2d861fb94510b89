"""The card's HTTP face, mounted by the gateway: `mount(app, config, services)`."""

from __future__ import annotations

import json
from typing import Any

import falcon

from mobo.kernel.config import Config

from . import names


def mount(app: falcon.App, config: Config, services: Any) -> None:
    """Add `/example/v1/hello` and `/example/v1/seen`."""
    app.add_route("/example/v1/hello", Hello(config.board.id))
    app.add_route("/example/v1/seen", Seen(services))


class Hello:
    def __init__(self, board: str) -> None:
        self._board = board

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"hello": "world", "board": self._board}


class Seen:
    """The last event the card's bus handler recorded (404 until there is one)."""

    def __init__(self, services: Any) -> None:
        self._services = services  # the gateway's shared Redis connection and keys

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raw = self._services.redis.get(names.seen(self._services.keys))
        if raw is None:
            raise falcon.HTTPNotFound(title="no data.change seen yet")
        resp.media = json.loads(raw)
