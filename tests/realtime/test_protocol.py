"""The Pusher protocol against a real MagWS process, frame by frame (websockets client)."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from components.realtime.signing import channel_auth
from tests.realtime.conftest import Server, open_client, start_server, stop_server


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def closed_with(url: str) -> tuple[dict, int]:
    """Connect; return the pusher:error sent and the close code."""
    async with connect(url) as ws:
        error = json.loads(await asyncio.wait_for(ws.recv(), 10))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        return json.loads(error["data"]), ws.close_code


def test_connection_established_has_socket_id_and_activity_timeout(server: Server) -> None:
    async def scenario() -> None:
        client = await open_client(server.ws_url)
        assert client.socket_id.count(".") == 1
        assert all(part.isdigit() for part in client.socket_id.split("."))
        await client.ws.close()

    run(scenario())


def test_ping_is_answered_with_pong(server: Server) -> None:
    async def scenario() -> None:
        client = await open_client(server.ws_url)
        await client.send("pusher:ping")
        assert (await client.recv())["event"] == "pusher:pong"
        await client.ws.close()

    run(scenario())


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/app/not-my-key?protocol=7", 4001),
        ("/app/{key}", 4008),
        ("/app/{key}?protocol=abc", 4006),
        ("/app/{key}?protocol=3", 4007),
        ("/elsewhere", 4005),
    ],
)
def test_refused_connections_get_pusher_error_codes(server: Server, path: str, code: int) -> None:
    url = f"ws://127.0.0.1:{server.port}" + path.format(key=server.app.key)
    error, close_code = run(closed_with(url))
    assert error["code"] == code and close_code == code
    assert error["message"]


@pytest.mark.parametrize(
    "frame",
    ["this is not json", "[1, 2]", '{"data": {}}', '{"event": "pusher:subscribe", "data": 5}'],
)
def test_malformed_frame_closes_only_that_connection(server: Server, frame: str) -> None:
    async def scenario() -> None:
        bystander = await open_client(server.ws_url)
        assert (await bystander.subscribe("news"))[
            "event"
        ] == "pusher_internal:subscription_succeeded"
        culprit = await open_client(server.ws_url)
        await culprit.ws.send(frame)
        error = await culprit.recv()
        assert error["event"] == "pusher:error" and error["data"]["code"] == 4200
        with pytest.raises(ConnectionClosed):
            await culprit.recv()
        assert culprit.ws.close_code == 4200
        await bystander.send("pusher:ping")
        assert (await bystander.recv())["event"] == "pusher:pong"
        await bystander.ws.close()

    run(scenario())


def test_private_channel_needs_the_apps_signature(server: Server) -> None:
    async def scenario() -> None:
        client = await open_client(server.ws_url)
        auth = channel_auth(server.app, client.socket_id, "private-room")
        ok = await client.subscribe("private-room", auth=auth)
        assert ok["event"] == "pusher_internal:subscription_succeeded"
        assert ok["channel"] == "private-room"
        forged = auth[:-4] + ("0000" if not auth.endswith("0000") else "1111")
        refused = await client.subscribe("private-other", auth=forged)
        assert refused["event"] == "pusher:subscription_error"
        assert refused["data"]["code"] == 4009 and refused["data"]["status"] == 401
        other_socket = channel_auth(server.app, "1.1", "private-other")
        refused = await client.subscribe("private-other", auth=other_socket)
        assert refused["data"]["code"] == 4009
        missing = await client.subscribe("private-other")
        assert missing["data"]["code"] == 4009
        await client.ws.close()

    run(scenario())


def test_presence_members_join_and_leave(server: Server) -> None:
    channel = "presence-lobby"

    async def join(user: str):  # type: ignore[no-untyped-def]
        client = await open_client(server.ws_url)
        data = json.dumps({"user_id": user, "user_info": {"name": user.title()}})
        auth = channel_auth(server.app, client.socket_id, channel, data)
        reply = await client.subscribe(channel, auth=auth, channel_data=data)
        assert reply["event"] == "pusher_internal:subscription_succeeded"
        return client, reply["data"]["presence"]

    async def scenario() -> None:
        alice, first = await join("alice")
        assert first == {"ids": ["alice"], "hash": {"alice": {"name": "Alice"}}, "count": 1}
        bob, second = await join("bob")
        assert second["count"] == 2 and set(second["ids"]) == {"alice", "bob"}
        added = await alice.until("pusher_internal:member_added")
        assert added["data"] == {"user_id": "bob", "user_info": {"name": "Bob"}}
        await bob.ws.close()
        removed = await alice.until("pusher_internal:member_removed")
        assert removed["data"] == {"user_id": "bob"} and removed["channel"] == channel
        await alice.ws.close()

    run(scenario())


def test_client_events_reach_the_other_subscribers_only(server: Server) -> None:
    channel = "private-chat"

    async def scenario() -> None:
        one, two = await open_client(server.ws_url), await open_client(server.ws_url)
        for client in (one, two):
            auth = channel_auth(server.app, client.socket_id, channel)
            assert (await client.subscribe(channel, auth=auth))["event"].endswith("succeeded")
        await one.send("client-typing", {"who": "one"}, channel=channel)
        got = await two.until("client-typing")
        assert got["data"] == {"who": "one"} and got["channel"] == channel
        await one.send("pusher:ping")
        assert (await one.recv())["event"] == "pusher:pong"  # nothing came back to the sender
        await one.send("client-typing", {}, channel="news")
        assert (await one.recv())["event"] == "pusher:error"
        await one.ws.close()
        await two.ws.close()

    run(scenario())


def test_client_events_are_refused_when_disabled() -> None:
    server = start_server()
    channel = "private-chat"

    async def scenario() -> None:
        client = await open_client(server.ws_url)
        auth = channel_auth(server.app, client.socket_id, channel)
        await client.subscribe(channel, auth=auth)
        await client.send("client-typing", {}, channel=channel)
        error = await client.recv()
        assert error["event"] == "pusher:error"
        assert "client_events" in error["data"]["message"]
        await client.ws.close()

    try:
        run(scenario())
    finally:
        stop_server(server)


def test_silent_client_is_pinged_then_closed_with_4201() -> None:
    server = start_server("--activity-timeout", "1", "--pong-timeout", "1")

    async def scenario() -> None:
        client = await open_client(server.ws_url)
        assert (await client.recv(timeout=10))["event"] == "pusher:ping"
        error = await client.recv(timeout=10)
        assert error["event"] == "pusher:error" and error["data"]["code"] == 4201
        with pytest.raises(ConnectionClosed):
            await client.recv(timeout=10)
        assert client.ws.close_code == 4201

    async def answering() -> None:
        client = await open_client(server.ws_url)
        assert (await client.recv(timeout=10))["event"] == "pusher:ping"
        await client.send("pusher:pong")
        assert (await client.recv(timeout=10))["event"] == "pusher:ping"  # still open
        await client.ws.close()

    try:
        run(scenario())
        run(answering())
    finally:
        stop_server(server)
