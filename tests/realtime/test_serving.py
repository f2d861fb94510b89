"""What keeps MagWS lean under load: compression off by default, one encode per change,
acks per batch, a bounded Redis pool, and a clear refusal when the identity store is down."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import redis
import redis.asyncio as aredis
from websockets.asyncio.client import connect

from components.datastore import names as feed
from components.realtime import names
from components.realtime.card import _redis
from components.realtime.credentials import App
from components.realtime.delivery import Consumer
from components.realtime.hub import Hub, Identity
from components.realtime.rows import RowFilter
from components.realtime.server import IdentityUnavailable
from components.realtime.service import Servers, raise_open_files_limit
from components.realtime.settings import parse_settings
from components.realtime.signing import channel_auth
from components.realtime.sinks import LocalSink
from mobo.exceptions import DatastoreError
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL, free_port
from tests.realtime.conftest import Client, open_client, start_server, stop_server


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_permessage_deflate_is_off_unless_configured() -> None:
    plain, compressed = start_server(), start_server("--compression")

    async def extensions(url: str) -> list[str]:
        async with connect(url) as ws:  # websockets offers permessage-deflate by default
            await ws.recv()
            return [ext.name for ext in ws.protocol.extensions]

    try:
        assert run(extensions(plain.ws_url)) == []
        assert run(extensions(compressed.ws_url)) == ["permessage-deflate"]
    finally:
        stop_server(plain)
        stop_server(compressed)


def test_compression_setting_is_validated() -> None:
    assert parse_settings({}).compression is False
    assert parse_settings({"compression": "true"}).compression is True


def test_open_files_limit_is_raised_to_the_hard_limit() -> None:
    import resource

    limit = raise_open_files_limit()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert limit == soft
    assert hard == resource.RLIM_INFINITY or soft == hard


def test_identity_key_is_computed_once_and_stable() -> None:
    one = Identity("authenticated", "u1", {"b": 2, "a": 1})
    two = Identity("authenticated", "u1", {"a": 1, "b": 2})
    assert (
        one.key == two.key == json.dumps(["authenticated", "u1", {"a": 1, "b": 2}], sort_keys=True)
    )
    assert Identity("anon", None, {}).key != one.key


def test_one_frame_per_change_for_subscribers_who_see_the_same_row() -> None:
    app = App("1", "k", "secret-" + os.urandom(4).hex())
    port, http_port = free_port(), free_port()
    settings = parse_settings({"port": port, "http_port": http_port})
    url = f"ws://127.0.0.1:{port}/app/{app.key}?protocol=7"
    channel = "private-db.main.items"
    service = Identity("service_role", None, {"role": "service_role"})

    async def scenario() -> None:
        servers = Servers(app, settings, Hub())

        async def lookup(socket_id: str, name: str) -> Identity | None:
            return service

        await servers.start(lookup)
        try:
            clients = [await open_client(url) for _ in range(3)]
            for client in clients:
                auth = channel_auth(app, client.socket_id, channel)
                reply = await client.subscribe(channel, auth=auth)
                assert reply["event"] == "pusher_internal:subscription_succeeded"
            # service_role sees every row: the real filter needs no store for it
            sink = LocalSink(servers.hub, stores=None, rows=RowFilter(None, {}))
            change = {"id": "1-0", "store": "main", "table": "items", "op": "insert",
                      "new": {"id": 1}, "old": None, "pk": {"id": 1}}  # fmt: skip
            await sink(change)
            raws = [await asyncio.wait_for(c.ws.recv(), 10) for c in clients]
            assert len(set(raws)) == 1  # the very same frame for each subscriber
            frame = json.loads(raws[0])
            assert frame["event"] == "insert" and frame["channel"] == channel
            assert json.loads(frame["data"])["new"] == {"id": 1}
            assert "id" not in json.loads(frame["data"])  # the stream entry id stays out
            for client in clients:
                await client.ws.close()
        finally:
            await servers.stop()

    run(scenario())


def test_identity_store_down_refuses_the_subscription_with_503() -> None:
    app = App("1", "k", "secret-" + os.urandom(4).hex())
    port, http_port = free_port(), free_port()
    settings = parse_settings({"port": port, "http_port": http_port})
    url = f"ws://127.0.0.1:{port}/app/{app.key}?protocol=7"
    channel = "private-db.main.items"

    async def lookup(socket_id: str, name: str) -> Identity | None:
        raise IdentityUnavailable("the board's Redis did not answer")

    async def scenario() -> None:
        servers = Servers(app, settings, Hub())
        await servers.start(lookup)
        try:
            client: Client = await open_client(url)
            auth = channel_auth(app, client.socket_id, channel)
            reply = await client.subscribe(channel, auth=auth)
            assert reply["event"] == "pusher:subscription_error"
            assert reply["data"]["status"] == 503 and "again" in reply["data"]["error"]
            await client.send("pusher:ping")  # the connection stays open
            assert (await client.recv())["event"] == "pusher:pong"
            await client.ws.close()
        finally:
            await servers.stop()

    run(scenario())


def test_a_burst_of_lookups_waits_for_the_bounded_redis_pool(redis_url: str) -> None:
    async def scenario() -> None:
        client = _redis(redis_url)
        try:
            found = await asyncio.gather(*(client.get("mobo-test:none") for _ in range(300)))
            assert found == [None] * 300
            assert client.connection_pool.max_connections == 32  # waited, did not fail
        finally:
            await client.aclose()

    run(scenario())


def test_entries_are_acked_per_batch_and_a_failed_one_stays_pending(keys: Keys) -> None:
    stream = feed.changes(keys)
    sync = redis.Redis.from_url(REDIS_URL)
    for n in range(4):
        change = {"store": "main", "table": "t", "op": "insert", "new": {"n": n}}
        sync.xadd(stream, {"c": json.dumps(change)})
    seen: list[int] = []

    async def sink(change: dict[str, Any]) -> None:
        if change["new"]["n"] == 2:
            raise DatastoreError("the store is down")
        seen.append(change["new"]["n"])

    async def scenario() -> None:
        client = aredis.Redis.from_url(REDIS_URL)
        consumer = Consumer(client, stream, sink, grace=0)
        try:
            await consumer._ensure_group()
            await consumer._round(backlog=False)  # delivers 0, 1; 2 fails
            assert seen == [0, 1] and consumer.delivered == 2
            pending = await client.xpending(stream, names.GROUP)
            assert pending["pending"] == 2  # 2 (failed) and 3 (not reached): retried
            await consumer._round(backlog=True)  # 2 fails again: nothing more acked
            assert seen == [0, 1] and consumer.delivered == 2
        finally:
            await client.aclose()
            sync.close()

    run(scenario())
