"""The WSGI-on-ASGI bridge the gateway's uvicorn workers serve through (platform/asgi.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import falcon
import pytest

from components.gateway.platform.asgi import WsgiBridge
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL


class Echo:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {
            "body": req.bounded_stream.read().decode(),
            "path": req.path,
            "query": req.query_string,
            "ip": req.remote_addr,
            "x": req.get_header("X-Many"),
            "type": req.content_type,
        }
        resp.set_header("X-Out", "é")


def call(bridge: WsgiBridge, scope: dict[str, Any], chunks: list[bytes]) -> list[dict]:
    sent: list[dict] = []
    incoming = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive() -> dict:
        return incoming.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(bridge(scope, receive, send))
    return sent


def scope(method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": headers,
        "client": ("10.1.2.3", 5555),
        "server": ("127.0.0.1", 8000),
        "scheme": "http",
    }


@pytest.mark.parametrize("threads", [1, 3])
def test_a_chunked_body_headers_and_path_reach_the_app(threads: int) -> None:
    app = falcon.App()
    app.add_route("/échos", Echo())
    headers = [
        (b"content-type", b"application/json"),
        (b"x-many", b"a"),
        (b"x-many", b"b"),
    ]
    sent = call(
        WsgiBridge(app, threads),
        scope("POST", "/échos", b"a=eq.1&b=in.(x,y)", headers),
        [b'{"k":', b' "v"}'],
    )
    assert sent[0]["status"] == 200
    assert (b"x-out", "é".encode("latin-1")) in sent[0]["headers"]
    assert json.loads(sent[1]["body"]) == {
        "body": '{"k": "v"}',
        "path": "/échos",
        "query": "a=eq.1&b=in.(x,y)",
        "ip": "10.1.2.3",
        "x": "a,b",
        "type": "application/json",
    }


def test_an_oversized_body_is_cut_one_byte_past_the_limit() -> None:
    app = falcon.App()
    app.add_route("/echo", Echo())
    bridge = WsgiBridge(app, 1, max_body=4)
    sent = call(bridge, scope("POST", "/echo", b"", []), [b"abc", b"defgh"])
    assert json.loads(sent[1]["body"])["body"] == "abcde"


def test_an_app_failure_is_a_json_500_not_a_dropped_connection() -> None:
    def broken(environ: dict, start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    sent = call(WsgiBridge(broken, 1), scope("GET", "/echo", b"", []), [b""])
    assert sent[0]["status"] == 500
    assert json.loads(sent[1]["body"])["code"] == "MOBO500"


def test_a_worker_freezes_what_it_loaded(home: Path, keys: Keys) -> None:
    """The app a worker loads is moved out of the collector's sight (gc.freeze): a full
    collection then stops the worker's threads for ~2 ms instead of ~45 ms."""
    import gc
    from types import SimpleNamespace

    from components.gateway import GatewayApplication

    from .platform_support import make_board

    config = make_board(home, keys)
    board = SimpleNamespace(config=config, redis_url=REDIS_URL, keys=keys)
    gc.unfreeze()
    try:
        app = GatewayApplication(board).load()  # type: ignore[arg-type]
        assert isinstance(app, WsgiBridge)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
