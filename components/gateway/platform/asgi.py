"""Serve the gateway's WSGI app from uvicorn workers under gunicorn.

The gateway is a Falcon WSGI app with synchronous resources (psycopg, redis-py): its
handlers block. gunicorn's `gthread` worker pays for that with a Python HTTP parser and a
thread handoff per request (~270 µs of CPU on a primary-key GET). `GatewayWorker` is a
uvicorn worker (uvloop, httptools: the HTTP side in C, keep-alive) and `WsgiBridge` calls
the WSGI app for each request:

- `threads <= 1`: inline, on the event loop's thread, one request at a time per worker
  (no handoff; a slow request holds up that worker's other connections);
- `threads > 1`: in a pool of that many threads per worker (`[gateway] threads`), so that
  a slow query or an RPC that waits never holds up `/health` or the other requests.

The request body is read whole before the app runs (up to the REST API's size limit plus
one byte, so an oversized body is still refused with 413); the response is sent whole
after the app returns. uvicorn's own proxy-header handling is off: the gateway trusts
`X-Forwarded-For` only from `[gateway] trusted_proxies` (clientip.py).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from uvicorn_worker import UvicornWorker

from components.gateway.rest.bodies import MAX_BODY_BYTES

LOGGER = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

PARENT_CHECK_S = 1.0  # how often a worker checks that its master is alive
ERROR_BODY = b'{"code":"MOBO500","message":"internal error","details":null,"hint":null}'
SPECIAL_HEADERS = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class GatewayWorker(UvicornWorker):
    """gunicorn's uvicorn worker with uvloop, httptools, no access log, no proxy headers."""

    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "off",
        "access_log": False,
        "proxy_headers": False,  # the gateway's trusted_proxies decide (clientip.py)
        "server_header": False,
        "date_header": True,
    }

    async def _serve(self) -> None:
        watch = asyncio.get_running_loop().create_task(self._watch_parent())
        try:
            await super()._serve()
        finally:
            watch.cancel()

    async def _watch_parent(self) -> None:
        """Exit when the master is gone, as gunicorn's own workers do (kill -9 of the
        master: its orphans share the port until they notice)."""
        while True:
            await asyncio.sleep(PARENT_CHECK_S)
            if os.getppid() != self.ppid:
                self.log.info("worker %s: master %s is gone, exiting", self.pid, self.ppid)
                os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown
                return


class WsgiBridge:
    """An ASGI app that answers HTTP requests with a WSGI app (inline or in a pool)."""

    def __init__(self, app: WsgiApp, threads: int = 1, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.threads = threads
        self.max_body = max_body
        self._pool: RequestThreads | None = None  # made in the worker, after the fork

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})
        elif kind == "lifespan":  # only when uvicorn runs it: nothing to start or stop
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await self._body(receive)
        if body is None:
            return  # the client went away
        environ = wsgi_environ(scope, body)
        if self.threads <= 1:
            status, headers, data = self._call(environ)
        else:
            pool = self._pool
            if pool is None:
                pool = self._pool = RequestThreads(self._call, self.threads)
            status, headers, data = await pool.run(environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _body(self, receive: Receive) -> bytes | None:
        """Read the request body, keeping at most `max_body` + 1 bytes of it."""
        chunks: list[bytes] = []
        size, cap = 0, self.max_body + 1
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            if chunk and size < cap:
                chunk = chunk[: cap - size]
                chunks.append(chunk)
                size += len(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _call(self, environ: dict[str, Any]) -> Answer:
        """Run the WSGI app; return status, headers and the whole body."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return _no_write

        try:
            result = self.app(environ, start_response)
            try:
                data = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            LOGGER.exception("the gateway app failed on %s", environ.get("PATH_INFO"))
            return 500, [(b"content-type", b"application/json")], ERROR_BODY
        if not started:
            LOGGER.error("the gateway app returned without starting a response")
            return 500, [(b"content-type", b"application/json")], ERROR_BODY
        status, headers = started
        raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        return int(status[:3]), raw, data


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class RequestThreads:
    """`threads` daemon threads that run `call(environ)` for the event loop.

    A leaner handoff than `loop.run_in_executor`: one asyncio future per request, set by
    the thread through `call_soon_threadsafe`, without concurrent.futures' second future,
    its condition variable and the callbacks that chain the two (about 5 % of a worker's
    CPU on a primary-key read). uvicorn's graceful shutdown awaits the requests in
    flight, so the threads need not be joined.
    """

    def __init__(self, call: Callable[[dict[str, Any]], Answer], threads: int) -> None:
        self._call = call
        self._jobs: queue.SimpleQueue[tuple[asyncio.Future[Answer], dict[str, Any]]] = (
            queue.SimpleQueue()
        )
        for n in range(threads):
            threading.Thread(target=self._work, name=f"gateway-request-{n}", daemon=True).start()

    def run(self, environ: dict[str, Any]) -> asyncio.Future[Answer]:
        """Queue one request; the future completes on the caller's event loop."""
        future = asyncio.get_running_loop().create_future()
        self._jobs.put((future, environ))
        return future

    def _work(self) -> None:
        while True:
            future, environ = self._jobs.get()
            loop = future.get_loop()
            try:
                answer = self._call(environ)
            except BaseException as exc:  # _call answers 500 itself; this is a last resort
                loop.call_soon_threadsafe(_fail, future, exc)
            else:
                loop.call_soon_threadsafe(_done, future, answer)


def _done(future: asyncio.Future[Answer], answer: Answer) -> None:
    if not future.done():  # the client went away and the task was cancelled
        future.set_result(answer)


def _fail(future: asyncio.Future[Answer], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def _no_write(data: bytes) -> None:
    raise RuntimeError("the gateway's WSGI bridge does not support write()")


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """Return the WSGI environ (PEP 3333) of an ASGI HTTP scope whose body is `body`."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "REMOTE_ADDR": client[0] if client else "",
        "REMOTE_PORT": str(client[1]) if client else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1")
        key = SPECIAL_HEADERS.get(name)
        if key is None:
            key = "HTTP_" + name.upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if key in environ:  # a repeated header: one value, comma-joined (RFC 9110 5.3)
            value = environ[key] + "," + value
        environ[key] = value
    if "CONTENT_LENGTH" not in environ and body:  # chunked: the body is whole by now
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ
