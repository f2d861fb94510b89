"""A small asyncio HTTP/1.1 server on h11 for Pusher's HTTP API (keep-alive, bounded bodies)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import h11

LOGGER = logging.getLogger(__name__)
MAX_BODY_BYTES = 1_048_576
READ_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: Any  # JSON-able

    def encode(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


async def start_http(host: str, port: int, handler: Handler) -> asyncio.Server:
    """Listen on host:port and answer each request with `handler`."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _serve(reader, writer, handler)
        except (TimeoutError, ConnectionError, h11.ProtocolError) as exc:
            LOGGER.debug("http connection ended: %s", exc)
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, port)


async def _serve(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=65536)
    while True:
        request = await _read(conn, reader)
        if request is None:
            return
        try:
            response = await handler(request)
        except Exception:
            LOGGER.exception("http api: %s %s failed", request.method, request.target)
            response = HttpResponse(500, {"error": "internal error, see the realtime log"})
        await _write(conn, writer, response)
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            return
        try:
            conn.start_next_cycle()
        except h11.LocalProtocolError:
            return


async def _read(conn: h11.Connection, reader: asyncio.StreamReader) -> HttpRequest | None:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT_S)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY_BYTES:
                raise h11.RemoteProtocolError("body too large", error_status_hint=413)
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in head.headers}
            return HttpRequest(head.method.decode(), head.target.decode(), headers, bytes(body))
        elif isinstance(event, h11.ConnectionClosed):
            return None


async def _write(
    conn: h11.Connection, writer: asyncio.StreamWriter, response: HttpResponse
) -> None:
    payload = response.encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(payload)))]
    out = conn.send(h11.Response(status_code=response.status, headers=headers))
    out += conn.send(h11.Data(data=payload)) + conn.send(h11.EndOfMessage())
    writer.write(out)
    await writer.drain()
