"""The Python floor for bench/gateway.py: Falcon + psycopg doing only the query.

Serves the same three requests as MagGate's `/rest/v1/todos` (same URLs, same JSON),
with none of the gateway's work: no auth, no role switch, no parsing beyond what the
three URLs need. Two faces of the same resource:

- `wsgi()`: for gunicorn (`sync` or `gthread`), a psycopg `ConnectionPool` per worker;
- `asgi()`: for uvicorn workers, Falcon's ASGI app with psycopg's `AsyncConnectionPool`.

The database comes from `$BENCH_DSN`; the pool size from `$BENCH_POOL` (default 4).
"""

from __future__ import annotations

import json
import os

import falcon
import falcon.asgi
from psycopg_pool import AsyncConnectionPool, ConnectionPool

COLUMNS = "id, user_id, title, done, created_at"
PK_SQL = f"SELECT {COLUMNS} FROM todos WHERE id = %s"
PAGE_SQL = f"SELECT {COLUMNS} FROM todos WHERE user_id = %s ORDER BY created_at DESC LIMIT 20"
INSERT_SQL = "INSERT INTO todos (user_id, title, done) VALUES (%s, %s, %s)"


def _pool_size() -> int:
    return int(os.environ.get("BENCH_POOL", "4"))


def _query(req: falcon.Request) -> tuple[str, tuple[object, ...]]:
    """Return the SQL and parameters for `?id=eq.N` or `?user_id=eq.U&...`."""
    pk = req.get_param("id")
    if pk is not None:
        return PK_SQL, (int(pk.removeprefix("eq.")),)
    user = req.get_param("user_id") or ""
    return PAGE_SQL, (user.removeprefix("eq."),)


def _body(rows: list[tuple[object, ...]], names: list[str]) -> str:
    return json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=str)


def _insert_params(row: dict[str, object]) -> tuple[object, ...]:
    return row["user_id"], row["title"], row["done"]


class Todos:
    """WSGI: `GET` one of the two reads, `POST` one row (return=minimal)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        sql, params = _query(req)
        with self._pool.connection() as conn:
            cur = conn.execute(sql, params)
            names = [d.name for d in cur.description or ()]
            rows = cur.fetchall()
        resp.text = _body(rows, names)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = _insert_params(req.get_media())
        with self._pool.connection() as conn:
            conn.execute(INSERT_SQL, params)
        resp.status = falcon.HTTP_201


class AsyncTodos:
    """ASGI: the same resource over psycopg's async pool."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        sql, params = _query(req)
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, params)
            names = [d.name for d in cur.description or ()]
            rows = await cur.fetchall()
        resp.text = _body(rows, names)

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        params = _insert_params(await req.get_media())
        async with self._pool.connection() as conn:
            await conn.execute(INSERT_SQL, params)
        resp.status = falcon.HTTP_201


class PoolLifespan:
    """Open the async pool in the worker's event loop, close it at shutdown."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def process_startup(self, scope: dict, event: dict) -> None:
        await self._pool.open(wait=True)

    async def process_shutdown(self, scope: dict, event: dict) -> None:
        await self._pool.close()


def wsgi() -> falcon.App:
    """gunicorn's app factory: one pool per worker (the factory runs after the fork)."""
    size = _pool_size()
    pool = ConnectionPool(os.environ["BENCH_DSN"], min_size=size, max_size=size, open=True)
    app = falcon.App()
    app.add_route("/rest/v1/todos", Todos(pool))
    return app


def asgi() -> falcon.asgi.App:
    """uvicorn's app factory (`--factory`)."""
    size = _pool_size()
    pool = AsyncConnectionPool(os.environ["BENCH_DSN"], min_size=size, max_size=size, open=False)
    app = falcon.asgi.App(middleware=[PoolLifespan(pool)])
    app.add_route("/rest/v1/todos", AsyncTodos(pool))
    return app
