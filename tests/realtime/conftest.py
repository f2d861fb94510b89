"""A real MagWS process for the protocol tests, and a small Pusher client on websockets."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from components.realtime.credentials import App
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 20
RECV_TIMEOUT_S = 10


@dataclass
class Server:
    """A standalone MagWS (python -m components.realtime) on free ports."""

    app: App
    port: int
    http_port: int
    proc: subprocess.Popen[bytes]

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/app/{self.app.key}?protocol=7&client=py"


def start_server(*args: str, app: App | None = None) -> Server:
    app = app or App("4242", "test-key", "test-secret-" + os.urandom(4).hex())
    port, http_port = free_port(), free_port()
    cmd = [
        sys.executable, "-m", "components.realtime", "--app-id", app.app_id, "--key", app.key,
        "--port", str(port), "--http-port", str(http_port), *args,
    ]  # fmt: skip
    env = {**os.environ, "MAGWS_SECRET": app.secret}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    server = Server(app, port, http_port, proc)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{http_port}/", timeout=1).read()
            return server
        except OSError:
            assert proc.poll() is None, "the standalone server exited at start"
            time.sleep(0.1)
    stop_server(server)
    raise AssertionError("the standalone server did not start")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    found = start_server("--client-events")
    yield found
    stop_server(found)


class Client:
    """One Pusher protocol connection: frames in and out, decoded."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.socket_id = ""

    async def send(self, event: str, data: Any = None, channel: str | None = None) -> None:
        frame: dict[str, Any] = {"event": event, "data": data if data is not None else {}}
        if channel is not None:
            frame["channel"] = channel
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = RECV_TIMEOUT_S) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if isinstance(frame.get("data"), str):
            try:
                frame["data"] = json.loads(frame["data"])
            except ValueError:
                pass
        return frame

    async def until(self, event: str, timeout: float = RECV_TIMEOUT_S) -> dict[str, Any]:
        """Skip frames until one of `event` arrives (a deadline, not a timing assertion)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.recv(max(0.05, deadline - time.monotonic()))
            if frame["event"] == event:
                return frame

    async def subscribe(self, channel: str, **data: Any) -> dict[str, Any]:
        await self.send("pusher:subscribe", {"channel": channel, **data})
        return await self.recv()


async def open_client(url: str) -> Client:
    client = Client(await connect(url))
    hello = await client.recv()
    assert hello["event"] == "pusher:connection_established"
    client.socket_id = hello["data"]["socket_id"]
    return client
