"""Pusher's HTTP API on MagWS, driven by the official `pusher` Python library, unchanged."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import pusher
import pytest

from components.realtime.credentials import App
from components.realtime.signing import channel_auth, sign_request
from tests.realtime.conftest import Server, open_client


def lib(server: Server, secret: str | None = None) -> pusher.Pusher:
    app = server.app
    return pusher.Pusher(
        app_id=app.app_id, key=app.key, secret=secret or app.secret,
        host="127.0.0.1", port=server.http_port, ssl=False,
    )  # fmt: skip


def test_pusher_library_publishes_to_a_subscribed_client(server: Server) -> None:
    async def scenario() -> None:
        client = await open_client(server.ws_url)
        auth = channel_auth(server.app, client.socket_id, "private-orders")
        await client.subscribe("private-orders", auth=auth)
        await client.subscribe("orders")
        await asyncio.to_thread(
            lib(server).trigger, ["orders", "private-orders"], "placed", {"n": 1}
        )
        got = [await client.until("placed"), await client.until("placed")]
        assert sorted(g["channel"] for g in got) == ["orders", "private-orders"]
        assert all(g["data"] == {"n": 1} for g in got)
        batch = [{"channel": "orders", "name": "shipped", "data": {"n": 2}}]
        await asyncio.to_thread(lib(server).trigger_batch, batch)
        assert (await client.until("shipped"))["data"] == {"n": 2}
        await client.ws.close()

    asyncio.run(scenario())


def test_socket_id_excludes_the_sender(server: Server) -> None:
    async def scenario() -> None:
        me, other = await open_client(server.ws_url), await open_client(server.ws_url)
        for c in (me, other):
            await c.subscribe("room")
        await asyncio.to_thread(lib(server).trigger, "room", "said", "hi", me.socket_id)
        assert (await other.until("said"))["data"] == "hi"
        await me.send("pusher:ping")
        assert (await me.recv())["event"] == "pusher:pong"
        await me.ws.close()
        await other.ws.close()

    asyncio.run(scenario())


def test_channel_info_counts_subscribers_and_members(server: Server) -> None:
    async def scenario() -> None:
        client = await open_client(server.ws_url)
        await client.subscribe("stats-room")
        data = json.dumps({"user_id": "u1"})
        auth = channel_auth(server.app, client.socket_id, "presence-stats", data)
        await client.subscribe("presence-stats", auth=auth, channel_data=data)
        api = lib(server)
        info = await asyncio.to_thread(api.channel_info, "stats-room", ["subscription_count"])
        assert info == {"occupied": True, "subscription_count": 1}
        empty = await asyncio.to_thread(api.channel_info, "nobody-here")
        assert empty == {"occupied": False}
        listed = await asyncio.to_thread(api.channels_info, "presence-", ["user_count"])
        assert listed["channels"]["presence-stats"] == {"user_count": 1}
        users = await asyncio.to_thread(api.users_info, "presence-stats")
        assert users == {"users": [{"id": "u1"}]}
        await client.ws.close()

    asyncio.run(scenario())


def test_bad_signature_is_refused_with_401(server: Server) -> None:
    with pytest.raises(pusher.errors.PusherBadAuth) as caught:
        lib(server, secret="not-the-secret").trigger("orders", "placed", {})
    assert "auth_signature" in str(caught.value)


def _raw(server: Server, method: str, query: str, body: bytes = b"") -> tuple[int, dict]:
    url = f"http://127.0.0.1:{server.http_port}/apps/{server.app.app_id}/events?{query}"
    request = urllib.request.Request(url, data=body or None, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_stale_timestamp_and_wrong_body_are_refused(server: Server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"name": "x", "channel": "orders", "data": "{}"}).encode()
    path = f"/apps/{server.app.app_id}/events"
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3600)
    stale = sign_request(server.app, "POST", path, {}, body)
    monkeypatch.setattr(time, "time", real)
    status, reply = _raw(server, "POST", stale, body)
    assert status == 401 and "auth_timestamp" in reply["error"]
    fresh = sign_request(server.app, "POST", path, {}, body)
    status, reply = _raw(server, "POST", fresh, body + b" ")
    assert status == 401 and "body_md5" in reply["error"]
    status, reply = _raw(server, "POST", "", body)
    assert status == 401 and "auth_key" in reply["error"]
    other = App(server.app.app_id, "another-key", server.app.secret)
    status, reply = _raw(server, "POST", sign_request(other, "POST", path, {}, body), body)
    assert status == 401 and "auth_key" in reply["error"]
    status, _ = _raw(server, "POST", sign_request(server.app, "POST", path, {}, body), body)
    assert status == 200


def test_bad_event_bodies_are_400(server: Server) -> None:
    path = f"/apps/{server.app.app_id}/events"
    for body in (b"not json", b'{"name": "x"}', b'{"name": "x", "channel": "bad name!"}'):
        status, reply = _raw(server, "POST", sign_request(server.app, "POST", path, {}, body), body)
        assert status == 400 and reply["error"]
